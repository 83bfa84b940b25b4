package sqlrow

// Queries are the statements both stores run as they are, in one
// dialect's placeholders. Statements a store runs its own way (enqueue,
// claim, batched results, purges) stay in that store.
type Queries struct {
	// Jobs.
	ChatWaits, InsertJob, JobExists, Pending   string
	ExtendJob, FinishJob, RetryJob, JobResults string
	// Cases.
	CaseByID, CaseByDelivery, InsertCase string
	// Case links and posts (schema v4).
	LinkCase, CaseLink, UnlinkCase, SetCasePost, CasePost string
	// Mutes.
	PutMute, ActiveMute, ExpiredMutes, ActiveMutes string
	// Sanctions.
	PutSanction, DeleteSanction, ActiveSanction, ActiveSanctions, ExpiredSanctions string
	// Warnings.
	AddWarning, CountWarnings, Warnings, RemoveLastWarning, RemoveWarning string
}

// For returns the queries in d's placeholders.
func For(d Dialect) Queries {
	q := Queries{
		// Is an earlier job of the chat unfinished? Then a new one waits.
		ChatWaits: `SELECT EXISTS (SELECT 1 FROM jobs WHERE finished_at IS NULL AND chat_key = ?)`,
		InsertJob: `
			INSERT INTO jobs (delivery_id, chat_key, event, created_at, lease_owner, lease_until, attempts)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			RETURNING id`,
		JobExists: `SELECT EXISTS (SELECT 1 FROM jobs WHERE id = ?)`,
		Pending:   `SELECT count(*), min(created_at) FROM jobs WHERE finished_at IS NULL`,
		// The lease statements take ?1 the job and ?2 the worker.
		ExtendJob: `
			UPDATE jobs SET lease_until = ?3
			WHERE id = ?1 AND lease_owner = ?2 AND finished_at IS NULL`,
		// Finish is given no clock, so the job counts as finished at the
		// end of its lease, an upper bound that PurgeCases uses.
		FinishJob: `
			UPDATE jobs SET finished_at = lease_until
			WHERE id = ?1 AND lease_owner = ?2 AND finished_at IS NULL`,
		RetryJob: `
			UPDATE jobs SET lease_owner = '', lease_until = 0, not_before = ?3, last_error = ?4
			WHERE id = ?1 AND lease_owner = ?2 AND finished_at IS NULL`,
		JobResults: `
			SELECT user_id, status, reason, detail FROM job_results
			WHERE job_id = ? AND verb = ?`,

		CaseByID: `SELECT ` + CaseColumns + ` FROM cases WHERE id = ?`,
		// delivery_id <> '' lets the partial unique index serve it.
		CaseByDelivery: `
			SELECT id FROM cases WHERE delivery_id = ? AND delivery_id <> '' AND verb = ? AND rule = ?`,
		InsertCase: `
			INSERT INTO cases (delivery_id, platform, chat_id, actor, rule, verb, targets,
				reason, duration_ns, dry_run, decisions, results, outcome, at, related)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		// The primary key (case_id, kind) is the link's uniqueness: a
		// second delivery's insert does nothing, and CaseLink then reads
		// the first one's.
		LinkCase: `
			INSERT INTO case_links (case_id, kind, delivery_id, at) VALUES (?, ?, ?, ?)
			ON CONFLICT (case_id, kind) DO NOTHING`,
		CaseLink: `SELECT delivery_id, at FROM case_links WHERE case_id = ? AND kind = ?`,
		UnlinkCase: `
			DELETE FROM case_links WHERE case_id = ? AND kind = ? AND delivery_id = ?`,
		SetCasePost: `UPDATE cases SET post = ? WHERE id = ?`,
		CasePost:    `SELECT post FROM cases WHERE id = ?`,

		PutMute: `
			INSERT INTO mutes (` + MuteColumns + `)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (platform, chat_id, user_id) DO UPDATE SET
				chat_kind = excluded.chat_kind, until = excluded.until,
				emulated = excluded.emulated, case_id = excluded.case_id`,
		ActiveMute: `
			SELECT ` + MuteColumns + ` FROM mutes
			WHERE platform = ? AND chat_id = ? AND user_id = ? AND (until IS NULL OR until > ?)`,
		ExpiredMutes: `
			SELECT ` + MuteColumns + ` FROM mutes
			WHERE until IS NOT NULL AND until <= ?
			ORDER BY until, platform, chat_id, user_id
			LIMIT ?`,
		ActiveMutes: `
			SELECT ` + MuteColumns + ` FROM mutes
			WHERE (until IS NULL OR until > ?) AND (emulated OR NOT ?)
			ORDER BY platform, chat_id, user_id`,

		PutSanction: `
			INSERT INTO sanctions (` + SanctionColumns + `)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (verb, platform, chat_id, user_id) DO UPDATE SET
				chat_kind = excluded.chat_kind, until = excluded.until, case_id = excluded.case_id`,
		DeleteSanction: `
			DELETE FROM sanctions WHERE verb = ? AND platform = ? AND chat_id = ? AND user_id = ?`,
		ActiveSanction: `
			SELECT ` + SanctionColumns + ` FROM sanctions
			WHERE verb = ? AND platform = ? AND chat_id = ? AND user_id = ? AND (until IS NULL OR until > ?)`,
		// In primary-key order: no sort.
		ActiveSanctions: `
			SELECT ` + SanctionColumns + ` FROM sanctions
			WHERE until IS NULL OR until > ?
			ORDER BY verb, platform, chat_id, user_id`,
		ExpiredSanctions: `
			SELECT ` + SanctionColumns + ` FROM sanctions
			WHERE until IS NOT NULL AND until <= ?
			ORDER BY until, verb, platform, chat_id, user_id
			LIMIT ?`,

		AddWarning: `
			INSERT INTO warnings (platform, chat_id, user_id, key, actor, rule, reason, at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING`,
		CountWarnings: `
			SELECT count(*) FROM warnings WHERE platform = ? AND chat_id = ? AND user_id = ? AND at >= ?`,
		Warnings: `
			SELECT id, key, actor, rule, reason, at FROM warnings
			WHERE platform = ? AND chat_id = ? AND user_id = ? AND at >= ? ORDER BY at, id`,
		RemoveLastWarning: `
			DELETE FROM warnings WHERE id = (
				SELECT id FROM warnings WHERE platform = ? AND chat_id = ? AND user_id = ? AND at >= ?
				ORDER BY at DESC, id DESC LIMIT 1)`,
		RemoveWarning: `DELETE FROM warnings WHERE key = ?`,
	}
	for _, p := range []*string{
		&q.ChatWaits, &q.InsertJob, &q.JobExists, &q.Pending, &q.ExtendJob, &q.FinishJob, &q.RetryJob, &q.JobResults,
		&q.CaseByID, &q.CaseByDelivery, &q.InsertCase,
		&q.LinkCase, &q.CaseLink, &q.UnlinkCase, &q.SetCasePost, &q.CasePost,
		&q.PutMute, &q.ActiveMute, &q.ExpiredMutes, &q.ActiveMutes,
		&q.PutSanction, &q.DeleteSanction, &q.ActiveSanction, &q.ActiveSanctions, &q.ExpiredSanctions,
		&q.AddWarning, &q.CountWarnings, &q.Warnings, &q.RemoveLastWarning, &q.RemoveWarning,
	} {
		*p = d.Q(*p)
	}
	return q
}
