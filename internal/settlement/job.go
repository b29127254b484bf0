package settlement

import (
	"context"
	"time"

	"github.com/paygate/paygate/internal/jobs"
)

// JobInterval is how often the settlement job looks for merchants' days
// that are due.
const JobInterval = 10 * time.Minute

// Job is the settlement job for a jobs.Scheduler: every JobInterval it
// settles every merchant's days that are due (RunDue). Each merchant's day
// runs under a lease of its own, so the job's own lease only keeps two
// nodes from walking the merchants at once.
func (s *Service) Job() jobs.Job {
	return jobs.Job{
		Name:  "settlement",
		Next:  jobs.Every(JobInterval),
		Lease: time.Hour,
		Run: func(ctx context.Context, now time.Time) error {
			_, err := s.RunDue(ctx, now)
			return err
		},
	}
}
