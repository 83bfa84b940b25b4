package postgres

// SetAfterJobInsert makes Enqueue call f inside its transaction right
// after inserting the job row, before committing.
func SetAfterJobInsert(s *Store, f func(deliveryID string)) { s.afterJobInsert = f }
