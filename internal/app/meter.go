package app

import (
	"net/http"

	"colachat/internal/metrics"
)

// newMeter creates the Prometheus collectors on a registry of this App (no global one)
// and the handler that exposes them.
func newMeter(src metrics.Sources) (meter, http.Handler, error) {
	reg := metrics.NewRegistry()
	m, err := metrics.New(reg, src)
	if err != nil {
		return nil, nil, err
	}
	return m, metrics.Handler(reg), nil
}
