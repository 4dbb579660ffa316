package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"commandd/dispatch"
	"commandd/fixtures"
	"commandd/streams"
)

const districtUsage = `usage:
  commandd district generate [-o FILE]   write the sample district (Huli) as a district file (stdout by default)
  commandd district check FILE           read a district file as the server would and summarise it`

// districtCommand is "commandd district …": the district file's tools, so the file a
// command center writes can be checked before it is given to a server, and the sample
// district exists as a file like any other.
func districtCommand(args []string) error {
	return runDistrict(args, os.Stdout, os.Stderr)
}

func runDistrict(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(districtUsage)
	}
	switch args[0] {
	case "generate":
		fs := flag.NewFlagSet("district generate", flag.ContinueOnError)
		fs.SetOutput(stderr)
		out := fs.String("o", "", "write the file here instead of stdout")
		if err := fs.Parse(args[1:]); err != nil {
			return fmt.Errorf("district generate: %w", err)
		}
		if fs.NArg() > 0 {
			return fmt.Errorf("district generate: unexpected %q\n%s", fs.Arg(0), districtUsage)
		}
		return districtGenerate(*out, stdout)
	case "check":
		if len(args) != 2 {
			return errors.New(districtUsage)
		}
		return districtCheck(args[1], stdout)
	default:
		return fmt.Errorf("district: unknown command %q\n%s", args[0], districtUsage)
	}
}

// districtGenerate writes the sample district's file to path, or stdout when path is
// empty. A file is written whole or not at all: a demo must not start on half of one.
func districtGenerate(path string, stdout io.Writer) error {
	d, err := fixtures.GenerateDistrict(fixtures.DefaultDistrict)
	if err != nil {
		return fmt.Errorf("district generate: %w", err)
	}
	b, err := d.File()
	if err != nil {
		return fmt.Errorf("district generate: %w", err)
	}
	if path == "" {
		_, err := stdout.Write(b)
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".district-*.json")
	if err != nil {
		return fmt.Errorf("district generate: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("district generate: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("district generate: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("district generate: %w", err)
	}
	return nil
}

// readDistrictFile reads and decodes a district file from disk, bounded by
// streams.DistrictFileLimit; an invalid file's error names its JSON path. --district
// can read its file with it too.
func readDistrictFile(path string) (dispatch.Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return dispatch.Config{}, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, streams.DistrictFileLimit+1))
	if err != nil {
		return dispatch.Config{}, fmt.Errorf("%s: %w", path, err)
	}
	if len(b) > streams.DistrictFileLimit {
		return dispatch.Config{}, fmt.Errorf("%s: larger than %d MB", path, streams.DistrictFileLimit>>20)
	}
	return decodeDistrict(path, b)
}

// decodeDistrict decodes a district file named name; an invalid one's error names its
// JSON path.
func decodeDistrict(name string, b []byte) (dispatch.Config, error) {
	cfg, e := streams.DecodeDistrict(b)
	if e != nil {
		if e.Field == "" {
			return dispatch.Config{}, fmt.Errorf("%s: %s", name, e.Message)
		}
		return dispatch.Config{}, fmt.Errorf("%s: %s: %s", name, e.Field, e.Message)
	}
	return cfg, nil
}

// districtCheck decodes the file at path and prints what the server would take from
// it; a bad file is the error, naming the JSON path.
func districtCheck(path string, stdout io.Writer) error {
	cfg, err := readDistrictFile(path)
	if err != nil {
		return fmt.Errorf("district check: %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: ok\n", path)
	fmt.Fprintf(&b, "district %q, time zone %s: %d cells at resolution 9\n", cfg.Name, orDefault(cfg.TZ, "(the server's --tz)"), len(cfg.District))
	sizes := make([]int, len(cfg.Grids))
	covered := 0
	for i, g := range cfg.Grids {
		sizes[i] = len(g.Cells)
		covered += len(g.Cells)
	}
	if len(sizes) > 0 {
		slices.Sort(sizes)
		fmt.Fprintf(&b, "grids: %d, %d to %d cells (median %d), covering %d of the district's %d cells\n",
			len(sizes), sizes[0], sizes[len(sizes)-1], sizes[len(sizes)/2], covered, len(cfg.District))
	} else {
		fmt.Fprintf(&b, "grids: none\n")
	}
	kinds := map[string]int{}
	for _, z := range cfg.Zones {
		kinds[z.Kind]++
	}
	fmt.Fprintf(&b, "zones: %d (key sites %d, center %d, outskirts %d)\n", len(cfg.Zones), kinds["key_site"], kinds["center"], kinds["outskirts"])
	for i, r := range cfg.Plans {
		fmt.Fprintf(&b, "plan %d %q for %s:", i+1, r.Plan.Name, planScope(r))
		for _, t := range r.Plan.Tiers {
			to := "scene"
			if t.Perimeter {
				to = "perimeter"
			}
			fmt.Fprintf(&b, " [%s %s, %d to the %s, met %s]", orDefault(t.Name, "tier"), t.Deadline, t.Units, to, t.MetBy)
		}
		b.WriteByte('\n')
	}
	_, err = io.WriteString(stdout, b.String())
	return err
}

// planScope says which incidents a plan rule takes.
func planScope(r dispatch.PlanRule) string {
	if r.Default() {
		return "every other incident (default)"
	}
	var parts []string
	if len(r.Categories) > 0 {
		cats := make([]string, len(r.Categories))
		for i, c := range r.Categories {
			cats[i] = c.String()
		}
		parts = append(parts, strings.Join(cats, ", "))
	}
	if len(r.Priorities) > 0 {
		ps := make([]string, len(r.Priorities))
		for i, p := range r.Priorities {
			ps[i] = fmt.Sprint(p)
		}
		parts = append(parts, "priority "+strings.Join(ps, ", "))
	}
	return strings.Join(parts, " of ")
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
