package loadtest

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// REST is a Twofold REST API to send validate requests to, over
// keep-alive connections, one per worker.
type REST struct {
	URL    string // the server's base, https://host:port
	APIKey string
	// Insecure accepts any certificate: a self-signed one on loopback.
	Insecure bool
	Timeout  time.Duration // for each answer; 0: 5 s
}

// Client returns the HTTP client the workers share: as many idle
// connections kept as there are workers, so each keeps its own.
func (r REST) Client(concurrency int) *http.Client {
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	return &http.Client{Timeout: timeout, Transport: &http.Transport{
		// Only when asked: a self-signed certificate on loopback.
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: r.Insecure},
		MaxIdleConns:        concurrency,
		MaxIdleConnsPerHost: concurrency,
		MaxConnsPerHost:     concurrency,
		ForceAttemptHTTP2:   false,
		IdleConnTimeout:     time.Minute,
	}}
}

// NewWorker returns a Worker that posts to /api/v1/validate through
// client.
func (r REST) NewWorker(client *http.Client) Worker {
	return &restWorker{url: strings.TrimSuffix(r.URL, "/") + "/api/v1/validate", auth: "Bearer " + r.APIKey, client: client}
}

type restWorker struct {
	url, auth string
	client    *http.Client
	body      bytes.Buffer
}

func (w *restWorker) Check(ctx context.Context, user, code string) (bool, error) {
	w.body.Reset()
	json.NewEncoder(&w.body).Encode(struct {
		Username string `json:"username"`
		Code     string `json:"code"`
	}{user, code})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(w.body.Bytes()))
	if err != nil {
		return false, err
	}
	req.Header.Set("Authorization", w.auth)
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	var answer struct {
		Result string `json:"result"`
		Error  string `json:"error"`
	}
	// Read to the end, so that the connection is kept for the next request.
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return false, err
	}
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("answered %s: %s", resp.Status, bytes.TrimSpace(b))
	}
	if err := json.Unmarshal(b, &answer); err != nil {
		return false, fmt.Errorf("answered what is not JSON: %w", err)
	}
	switch answer.Result {
	case "accept":
		return true, nil
	case "reject":
		return false, nil
	}
	return false, fmt.Errorf("answered result %q", answer.Result)
}

func (w *restWorker) Close() error { return nil }
