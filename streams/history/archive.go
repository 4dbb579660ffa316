package history

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"commandd/streams"
)

// Archive serves replays from the store's engine states and archived messages, and
// from the log for what the store does not hold yet: a replay reaches back as far as
// the store keeps, and forward to the present.
func (s *Store) Archive(lg *streams.Log) streams.Archive { return archive{s: s, log: lg} }

type archive struct {
	s   *Store
	log *streams.Log
}

// archivePage is how many messages a replay reads from the store at a time. A page
// is read whole before the replay plays it, so a paused replay holds no connection.
const archivePage = 500

func (a archive) StateBefore(ctx context.Context, t time.Time) (uint64, []byte, error) {
	var seq int64
	var state []byte
	err := a.s.pool.QueryRow(ctx, `SELECT seq, engine FROM engine_states WHERE t <= $1 ORDER BY seq DESC LIMIT 1`, t).
		Scan(&seq, &state)
	if err == nil {
		return uint64(seq), state, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return 0, nil, fmt.Errorf("history: engine state before %s: %w", t.Format(time.RFC3339), err)
	}
	// Before the first saved state: from the beginning, if the store still has it.
	var first *int64
	if err := a.s.pool.QueryRow(ctx, `SELECT min(seq) FROM log_messages`).Scan(&first); err != nil {
		return 0, nil, fmt.Errorf("history: archive: %w", err)
	}
	if first != nil && *first > 1 {
		return 0, nil, fmt.Errorf("history: no engine state before %s and the archive starts at %d (older days were dropped)",
			t.Format(time.RFC3339), *first)
	}
	return streams.LogArchive{Log: a.log}.StateBefore(ctx, t)
}

func (a archive) Messages(ctx context.Context, after uint64, fn func(streams.Message) error) error {
	for {
		var page []streams.Message
		err := a.s.archived(ctx, after, after+archivePage, func(m streams.Message) error {
			page = append(page, m)
			return nil
		})
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return a.log.Messages(ctx, after+1, fn)
		}
		for _, m := range page {
			if err := fn(m); err != nil {
				return err
			}
			after = m.Seq
		}
	}
}
