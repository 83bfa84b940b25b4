package sqlrow

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gavel/moderation"
	"gavel/store/internal/nanotime"
)

// CaseColumns are the cases columns ScanCase reads, in order.
const CaseColumns = `id, delivery_id, platform, chat_id, actor, rule, verb, targets,
	reason, duration_ns, dry_run, decisions, results, outcome, at, related`

// CaseRow is a case's JSON columns and user index, encoded before the
// transaction.
type CaseRow struct {
	Targets, Decisions, Results []byte
	Users                       []string
}

// EncodeCase encodes c's JSON columns, refusing an outcome that
// ScanCase would refuse to read back.
func EncodeCase(c *moderation.Case) (CaseRow, error) {
	if _, err := moderation.ParseOutcome(string(c.Outcome)); err != nil {
		return CaseRow{}, fmt.Errorf("outcome: %w", err)
	}
	targets, err := json.Marshal(c.Targets)
	if err != nil {
		return CaseRow{}, fmt.Errorf("encode targets: %w", err)
	}
	decisions, err := json.Marshal(c.Decisions)
	if err != nil {
		return CaseRow{}, fmt.Errorf("encode decisions: %w", err)
	}
	results, err := json.Marshal(c.Results)
	if err != nil {
		return CaseRow{}, fmt.Errorf("encode results: %w", err)
	}
	return CaseRow{targets, decisions, results, c.Users()}, nil
}

// EncodeCases encodes the cases of a Work, refusing a nil one.
func EncodeCases(cases []*moderation.Case) ([]CaseRow, error) {
	rows := make([]CaseRow, len(cases))
	for i, c := range cases {
		if c == nil {
			return nil, fmt.Errorf("nil case")
		}
		var err error
		if rows[i], err = EncodeCase(c); err != nil {
			return nil, fmt.Errorf("case for %s: %w", c.DeliveryID, err)
		}
	}
	return rows, nil
}

// CaseArgs are the arguments of InsertCase.
func (d Dialect) CaseArgs(c *moderation.Case, row CaseRow) []any {
	return []any{c.DeliveryID, c.Platform, c.ChatID, c.Actor, c.Rule, string(c.Verb), d.JSON(row.Targets),
		d.Text(c.Reason), int64(c.Duration), c.DryRun, d.JSON(row.Decisions), d.JSON(row.Results), d.Text(string(c.Outcome)), nanotime.From(c.At), c.Related}
}

// ScanCase reads one row of CaseColumns. A stored outcome that
// moderation.ParseOutcome refuses is an error wrapping
// moderation.ErrBadOutcome.
func ScanCase(row Scanner) (moderation.Case, error) {
	var (
		c                           moderation.Case
		verb                        string
		targets, decisions, results []byte
		duration, at                int64
	)
	err := row.Scan(&c.ID, &c.DeliveryID, &c.Platform, &c.ChatID, &c.Actor, &c.Rule, &verb, &targets,
		&c.Reason, &duration, &c.DryRun, &decisions, &results, &c.Outcome, &at, &c.Related)
	if err != nil {
		return moderation.Case{}, err
	}
	c.Verb = moderation.Verb(verb)
	c.Duration = time.Duration(duration)
	c.At = nanotime.To(at)
	if _, err := moderation.ParseOutcome(string(c.Outcome)); err != nil {
		return moderation.Case{}, fmt.Errorf("case %d: outcome: %w", c.ID, err)
	}
	if err := json.Unmarshal(targets, &c.Targets); err != nil {
		return moderation.Case{}, fmt.Errorf("case %d: decode targets: %w", c.ID, err)
	}
	if err := json.Unmarshal(decisions, &c.Decisions); err != nil {
		return moderation.Case{}, fmt.Errorf("case %d: decode decisions: %w", c.ID, err)
	}
	if err := json.Unmarshal(results, &c.Results); err != nil {
		return moderation.Case{}, fmt.Errorf("case %d: decode results: %w", c.ID, err)
	}
	return c, nil
}

// CasesQuery is the query for the cases f selects, newest first, and its
// arguments. UserID matches the actor or any target; Related the cases
// that follow from a case; Since is inclusive;
// Limit ≤ 0 means no limit.
func (d Dialect) CasesQuery(f moderation.CaseFilter) (string, []any) {
	var (
		where []string
		args  []any
	)
	// arg adds v and returns its placeholder.
	arg := func(v any) string {
		args = append(args, v)
		if d.Dollar {
			return "$" + strconv.Itoa(len(args))
		}
		return "?"
	}
	if f.Platform != "" {
		where = append(where, "platform = "+arg(f.Platform))
	}
	if f.ChatID != "" {
		where = append(where, "chat_id = "+arg(f.ChatID))
	}
	if f.UserID != "" {
		where = append(where, "id IN (SELECT case_id FROM case_users WHERE user_id = "+arg(f.UserID)+")")
	}
	if f.Related != 0 {
		where = append(where, "related = "+arg(f.Related))
	}
	if !f.Since.IsZero() {
		where = append(where, "at >= "+arg(nanotime.From(f.Since)))
	}
	if !f.Until.IsZero() {
		where = append(where, "at < "+arg(nanotime.From(f.Until)))
	}
	if f.Outcome != "" {
		// The kind alone, or the kind and its detail.
		where = append(where, "(outcome = "+arg(string(f.Outcome))+" OR outcome LIKE "+arg(string(f.Outcome)+":%")+")")
	}
	q := `SELECT ` + CaseColumns + ` FROM cases`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ` + arg(f.Limit)
	}
	return q, args
}
