package console

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gavel/moderation"
)

// pageSize is how many cases a page of the list shows.
const pageSize = 50

// caseFilter is the case list's form, as typed.
type caseFilter struct {
	Platform, Chat, Actor, Target, Rule, Verb, Outcome, Since, Until string
}

// query turns the form into a store query within the user's grants.
func (f caseFilter) query(scope []string, before int64) (moderation.CaseQuery, error) {
	q := moderation.CaseQuery{Scope: scope, Platform: f.Platform, ChatID: f.Chat, Actor: f.Actor, Target: f.Target,
		Rule: f.Rule, Verb: moderation.Verb(f.Verb), Outcome: f.Outcome, Before: before, Limit: pageSize + 1}
	var err error
	if q.Since, err = parseTime(f.Since); err != nil {
		return q, err
	}
	if q.Until, err = parseTime(f.Until); err != nil {
		return q, err
	}
	return q, nil
}

// parseTime reads a form's date ("2006-01-02" or "2006-01-02T15:04", UTC).
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("dates are 2006-01-02 or 2006-01-02T15:04 (UTC)")
}

func (f caseFilter) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"platform": f.Platform, "chat": f.Chat, "actor": f.Actor, "target": f.Target,
		"rule": f.Rule, "verb": f.Verb, "outcome": f.Outcome, "since": f.Since, "until": f.Until} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// cases lists cases, newest first, a page at a time (keyset: ?before=ID).
func (s *Server) cases(w http.ResponseWriter, r *http.Request, req *request) {
	g := r.URL.Query().Get
	f := caseFilter{Platform: g("platform"), Chat: g("chat"), Actor: g("actor"), Target: g("target"), Rule: g("rule"),
		Verb: g("verb"), Outcome: g("outcome"), Since: g("since"), Until: g("until")}
	before, _ := strconv.ParseInt(g("before"), 10, 64)
	data := map[string]any{"F": f}
	q, err := f.query(req.user.Grants, before)
	if err != nil {
		data["Error"] = err.Error()
		s.page(w, req, http.StatusBadRequest, "cases", data)
		return
	}
	found, err := s.d.Store.SearchCases(r.Context(), q)
	if err != nil {
		s.fail(w, req, err)
		return
	}
	if len(found) > pageSize {
		found = found[:pageSize]
		next := f.values()
		next.Set("before", strconv.FormatInt(found[len(found)-1].ID, 10))
		data["Next"] = "/cases?" + next.Encode()
	}
	if before > 0 {
		data["First"] = "/cases?" + f.values().Encode()
	}
	data["Cases"] = found
	s.page(w, req, http.StatusOK, "cases", data)
}

// visibleCase returns the case if the user's grants cover its chat; any
// other case is "not found", exactly as a missing one.
func (s *Server) visibleCase(r *http.Request, req *request, idText string) (moderation.Case, bool, error) {
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id <= 0 {
		return moderation.Case{}, false, nil
	}
	c, err := s.d.Store.Case(r.Context(), id)
	switch {
	case errors.Is(err, moderation.ErrNotFound):
		return c, false, nil
	case err != nil:
		return c, false, err
	}
	if !moderation.ScopeAllows(req.user.Grants, moderation.ChatRef{Platform: c.Platform, ID: c.ChatID}) {
		return moderation.Case{}, false, nil
	}
	return c, true, nil
}

// casePage shows one case: per-target decisions and results, the rule
// and what matched, and the cases it relates to.
func (s *Server) casePage(w http.ResponseWriter, r *http.Request, req *request) {
	c, ok, err := s.visibleCase(r, req, r.PathValue("id"))
	if err != nil {
		s.fail(w, req, err)
		return
	}
	if !ok {
		s.notFound(w, req)
		return
	}
	data := map[string]any{"Case": c, "Reason": truncate(c.Reason, maxReason)}
	if c.Related > 0 {
		if rel, ok, err := s.visibleCase(r, req, strconv.FormatInt(c.Related, 10)); err == nil && ok {
			data["Related"] = rel
		}
	}
	followers, err := s.d.Store.SearchCases(r.Context(), moderation.CaseQuery{Scope: req.user.Grants, Related: c.ID, Limit: 20})
	if err != nil {
		s.fail(w, req, err)
		return
	}
	data["Followers"] = followers
	decisions := map[string]moderation.Decision{}
	for _, d := range c.Decisions {
		decisions[d.Target] = d
	}
	type row struct {
		User     string
		Decision *moderation.Decision
		Result   *moderation.Result
	}
	var rows []row
	results := map[string]moderation.Result{}
	for _, res := range c.Results {
		results[res.UserID] = res
	}
	for _, u := range c.Targets {
		rw := row{User: u}
		if d, ok := decisions[u]; ok {
			rw.Decision = &d
		}
		if res, ok := results[u]; ok {
			rw.Result = &res
		}
		rows = append(rows, rw)
	}
	data["Rows"] = rows
	s.page(w, req, http.StatusOK, "case", data)
}

// maxReason is how much of a reason or match the case page shows, as
// /case's reply keeps it short.
const maxReason = 300

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

func (s *Server) notFound(w http.ResponseWriter, req *request) {
	s.page(w, req, http.StatusNotFound, "notfound", nil)
}

func (s *Server) fail(w http.ResponseWriter, req *request, err error) {
	s.log.Error("console: page failed", "user", req.user.Name, "err", err)
	s.page(w, req, http.StatusInternalServerError, "error", map[string]any{"Error": "the store did not answer; see the log"})
}

// chatKey is "platform:chat_id".
func chatKey(c moderation.ChatRef) string { return c.Platform + ":" + c.ID }

// splitChat reads "platform:chat_id".
func splitChat(s string) (moderation.ChatRef, bool) {
	p, id, ok := strings.Cut(s, ":")
	return moderation.ChatRef{Platform: p, ID: id}, ok && p != "" && id != ""
}
