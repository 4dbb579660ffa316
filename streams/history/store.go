package history

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the history database.
type Store struct {
	pool *pgxpool.Pool
}

// Open connects to PostgreSQL at url and brings its schema up to date.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("history: database url: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("history: connect: %w", err)
	}
	s := &Store{pool: pool}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the store's connections.
func (s *Store) Close() { s.pool.Close() }

// migrate applies the embedded migrations not yet applied, in order, each in its own
// transaction; an advisory lock keeps two servers starting at once from racing.
func (s *Store) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("history: migrations: %w", err)
	}
	slices.Sort(names)
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("history: migrate: %w", err)
	}
	defer conn.Release()
	const lock = 7_303_110 // any constant shared by every commandd
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, lock); err != nil {
		return fmt.Errorf("history: migrate: lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lock)
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version int PRIMARY KEY, name text NOT NULL, applied timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("history: migrate: %w", err)
	}
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("history: migration %s: name must start with its version", base)
		}
		var done bool
		if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, version).Scan(&done); err != nil {
			return fmt.Errorf("history: migrate: %w", err)
		}
		if done {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return fmt.Errorf("history: migration %s: %w", base, err)
		}
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, version, base)
			return err
		})
		if err != nil {
			return fmt.Errorf("history: migration %s: %w", base, err)
		}
	}
	return nil
}

// partitioned are the tables split by day.
var partitioned = []string{"fixes", "log_messages"}

// dayOf is the UTC day t falls in.
func dayOf(t time.Time) time.Time {
	return t.UTC().Truncate(24 * time.Hour)
}

// ensureDays creates the day partitions the rows of a batch fall in.
func ensureDays(ctx context.Context, tx pgx.Tx, days []time.Time) error {
	for _, d := range days {
		for _, table := range partitioned {
			q := fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s_%s PARTITION OF %s FOR VALUES FROM ('%s') TO ('%s')`,
				table, d.Format("20060102"), table, d.Format(time.RFC3339), d.AddDate(0, 0, 1).Format(time.RFC3339))
			if _, err := tx.Exec(ctx, q); err != nil {
				return fmt.Errorf("history: partition %s %s: %w", table, d.Format(time.DateOnly), err)
			}
		}
	}
	return nil
}

// dayPartitions lists the day partitions of table, by day.
func (s *Store) dayPartitions(ctx context.Context, table string) (map[time.Time]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT c.relname FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
		WHERE p.relname = $1`, table)
	if err != nil {
		return nil, fmt.Errorf("history: partitions of %s: %w", table, err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("history: partitions of %s: %w", table, err)
	}
	out := make(map[time.Time]string, len(names))
	for _, name := range names {
		if d, err := time.Parse("20060102", strings.TrimPrefix(name, table+"_")); err == nil {
			out[d] = name
		}
	}
	return out, nil
}

// IndexDaysBefore gives each day of fixes that ended by end its (unit, t) index, for
// units' tracks; it returns how many days it indexed.
func (s *Store) IndexDaysBefore(ctx context.Context, end time.Time) (int, error) {
	days, err := s.dayPartitions(ctx, "fixes")
	if err != nil {
		return 0, err
	}
	n := 0
	for d, name := range days {
		if d.AddDate(0, 0, 1).After(end) {
			continue
		}
		var exists bool
		if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_indexes WHERE tablename = $1 AND indexname = $2)`,
			name, name+"_unit_t").Scan(&exists); err != nil {
			return n, fmt.Errorf("history: index %s: %w", name, err)
		}
		if exists {
			continue
		}
		q := fmt.Sprintf(`CREATE INDEX %s ON %s (unit, t)`, pgx.Identifier{name + "_unit_t"}.Sanitize(), pgx.Identifier{name}.Sanitize())
		if _, err := s.pool.Exec(ctx, q); err != nil {
			return n, fmt.Errorf("history: index %s: %w", name, err)
		}
		n++
	}
	return n, nil
}

// DropBefore drops whole days of fixes and log messages older than day, and the
// engine states a replay could no longer use (all but the newest one before day). It
// returns how many partitions went. Incidents, alerts, assignments, camera events and
// the audit trail stay.
func (s *Store) DropBefore(ctx context.Context, day time.Time) (int, error) {
	day = dayOf(day)
	dropped := 0
	for _, table := range partitioned {
		days, err := s.dayPartitions(ctx, table)
		if err != nil {
			return dropped, err
		}
		for d, name := range days {
			if !d.Before(day) {
				continue
			}
			if _, err := s.pool.Exec(ctx, `DROP TABLE `+pgx.Identifier{name}.Sanitize()); err != nil {
				return dropped, fmt.Errorf("history: retention: drop %s: %w", name, err)
			}
			dropped++
		}
	}
	_, err := s.pool.Exec(ctx, `DELETE FROM engine_states WHERE t < $1
		AND seq < (SELECT max(seq) FROM engine_states WHERE t < $1)`, day)
	if err != nil {
		return dropped, fmt.Errorf("history: retention: engine states: %w", err)
	}
	return dropped, nil
}

// Position is how far the history holds the log named stream (0: nothing yet).
func (s *Store) Position(ctx context.Context, stream string) (uint64, error) {
	var seq int64
	err := s.pool.QueryRow(ctx, `SELECT seq FROM history_position WHERE stream = $1`, stream).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("history: position: %w", err)
	}
	return uint64(seq), nil
}
