package fx

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/paygate/paygate/internal/jobs"
)

// HTTPProvider is a live source of rates: a URL that serves rates as CSV
// (the CSVProvider format: base, quote, rate, as_of and optionally source),
// such as an operator's bridge to its bank's or a channel's rate feed. Rows
// without a source get the URL's host.
type HTTPProvider struct {
	URL    string
	Client *http.Client // nil: a client with a 30 s timeout
}

// maxRatesBody bounds what HTTPProvider reads.
const maxRatesBody = 8 << 20

// Rates fetches and parses the URL.
func (p HTTPProvider) Rates(ctx context.Context) ([]RateInput, error) {
	u, err := url.Parse(p.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("fx: rates URL %q is not an http(s) URL", p.URL)
	}
	c := p.Client
	if c == nil {
		c = &http.Client{Timeout: 30 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/csv")
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fx: fetch rates: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fx: fetch rates: %s answered %d", u.Host, resp.StatusCode)
	}
	return CSVProvider{R: io.LimitReader(resp.Body, maxRatesBody), Source: u.Host}.Rates(ctx)
}

// Job is a jobs.Job that loads p's rates every interval (and at once the
// first time).
func (s *Service) Job(p Provider, interval time.Duration) jobs.Job {
	return jobs.Job{
		Name: "fx-rates",
		Next: jobs.Every(interval),
		Run: func(ctx context.Context, now time.Time) error {
			_, err := s.Refresh(ctx, p)
			return err
		},
	}
}
