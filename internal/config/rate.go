package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Rate is a token bucket: Events tokens refill every Per, at most Burst saved up.
// The zero Rate means unlimited.
type Rate struct {
	Events int
	Per    time.Duration
	Burst  int
}

// Unlimited reports whether the rate imposes no limit.
func (r Rate) Unlimited() bool { return r.Events == 0 }

// PerSecond is the refill rate in tokens per second.
func (r Rate) PerSecond() float64 {
	if r.Per <= 0 {
		return 0
	}
	return float64(r.Events) / r.Per.Seconds()
}

// Window is how long an empty bucket takes to refill completely: Burst tokens at
// Events per Per. Limiters that take "Burst per Window" use it.
func (r Rate) Window() time.Duration {
	if r.Unlimited() {
		return 0
	}
	return time.Duration(float64(r.Per) * float64(r.Burst) / float64(r.Events))
}

// String renders the rate the way ParseRate reads it: "10/s:20", or "off".
func (r Rate) String() string {
	if r.Unlimited() {
		return "off"
	}
	unit := map[time.Duration]string{time.Second: "s", time.Minute: "m", time.Hour: "h"}[r.Per]
	if unit == "" {
		unit = r.Per.String()
	}
	return fmt.Sprintf("%d/%s:%d", r.Events, unit, r.Burst)
}

// ParseRate reads "N/UNIT" or "N/UNIT:BURST" (UNIT s, m, h or a Go duration such as 10s;
// the burst defaults to N), or "off" for no limit.
func ParseRate(s string) (Rate, error) {
	if s == "off" {
		return Rate{}, nil
	}
	spec, burstText, hasBurst := strings.Cut(s, ":")
	eventsText, unit, ok := strings.Cut(spec, "/")
	if !ok {
		return Rate{}, fmt.Errorf("%q is not N/UNIT[:BURST] (e.g. 10/s:20) or off", s)
	}
	events, err := strconv.Atoi(eventsText)
	if err != nil || events <= 0 {
		return Rate{}, fmt.Errorf("%q: the count must be a positive integer", s)
	}
	per, err := parseUnit(unit)
	if err != nil {
		return Rate{}, fmt.Errorf("%q: %w", s, err)
	}
	burst := events
	if hasBurst {
		burst, err = strconv.Atoi(burstText)
		if err != nil || burst <= 0 {
			return Rate{}, fmt.Errorf("%q: the burst must be a positive integer", s)
		}
	}
	return Rate{Events: events, Per: per, Burst: burst}, nil
}

func parseUnit(unit string) (time.Duration, error) {
	switch unit {
	case "s":
		return time.Second, nil
	case "m":
		return time.Minute, nil
	case "h":
		return time.Hour, nil
	}
	d, err := time.ParseDuration(unit)
	if err != nil || d <= 0 {
		return 0, errors.New("the unit must be s, m, h or a positive duration such as 10s")
	}
	return d, nil
}

func (r Rate) check() error {
	if r.Unlimited() {
		return nil
	}
	if r.Events < 0 || r.Per <= 0 || r.Burst <= 0 {
		return fmt.Errorf("%s is not a valid rate (want N/UNIT[:BURST] with positive numbers, or off)", r)
	}
	return nil
}
