package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"gavel/config"
	"gavel/moderation"
	"gavel/store"
)

// caseFilter builds the filter of `gavel cases` from its flags.
func caseFilter(chat, user, since string, limit int, now time.Time) (moderation.CaseFilter, error) {
	f := moderation.CaseFilter{UserID: user, Limit: limit}
	if chat != "" {
		p, id, ok := strings.Cut(chat, ":")
		if !ok || p == "" || id == "" {
			return f, fmt.Errorf("--chat %q: want platform:chat_id", chat)
		}
		f.Platform, f.ChatID = p, id
	}
	if since != "" {
		if d, err := moderation.ParseDuration(since); err == nil && d > 0 {
			f.Since = now.Add(-d)
		} else if t, err := time.Parse(time.RFC3339, since); err == nil {
			f.Since = t
		} else if t, err := time.Parse("2006-01-02", since); err == nil {
			f.Since = t
		} else {
			return f, fmt.Errorf("--since %q: want a duration (24h) or a date (2006-01-02, RFC 3339)", since)
		}
	}
	if limit < 0 {
		return f, fmt.Errorf("--limit %d: must not be negative", limit)
	}
	return f, nil
}

// printCases lists the cases matching f from the configured store.
func printCases(ctx context.Context, cfg config.Config, f moderation.CaseFilter, w io.Writer) error {
	st, err := store.Open(ctx, cfg.Storage)
	if err != nil {
		return fmt.Errorf("opening store: %w", err)
	}
	defer st.Close()
	cases, err := st.Cases(ctx, f)
	if err != nil {
		return fmt.Errorf("listing cases: %w", err)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CASE\tTIME (UTC)\tCHAT\tBY\tACTION\tTARGETS\tOUTCOME\tREASON")
	for _, c := range cases {
		by := c.Actor
		if c.Rule != "" {
			by = "rule:" + c.Rule
		}
		action := string(c.Verb)
		if c.Duration > 0 {
			action += " " + moderation.FormatDuration(c.Duration)
		}
		if c.DryRun {
			action += " (dry run)"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s:%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.At.UTC().Format("2006-01-02 15:04:05"),
			c.Platform, c.ChatID, by, action, targets(c), c.Outcome, c.Reason)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "%d case(s)\n", len(cases))
	return nil
}

// targets summarises a case's targets: the first few, then a count, with
// how many were not done.
func targets(c moderation.Case) string {
	shown := c.Targets
	if len(shown) > 3 {
		shown = shown[:3]
	}
	s := strings.Join(shown, ",")
	if len(c.Targets) > 3 {
		s += fmt.Sprintf(",… (%d)", len(c.Targets))
	}
	notDone := 0
	for _, r := range c.Results {
		if !r.Status.Succeeded() && r.Status != moderation.StatusSkipped {
			notDone++
		}
	}
	if notDone > 0 {
		s += fmt.Sprintf(" [%d not done]", notDone)
	}
	return s
}
