package main

import (
	"encoding/json"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/husk-runtime/husk/cgroups"
	"github.com/husk-runtime/husk/libcontainer"
)

var eventsCommand = &cli.Command{
	Name:      "events",
	Usage:     "print a container's stats and OOM events as JSON lines",
	ArgsUsage: "ID",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "stats", Usage: "print the stats once and exit"},
		&cli.DurationFlag{Name: "interval", Value: 5 * time.Second, Usage: "how often to print stats"},
	},
	Action: func(c *cli.Context) error {
		id, err := containerID(c)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(os.Stdout)
		if c.Bool("stats") {
			ev, err := statsEvent(c, id)
			if err != nil {
				return err
			}
			return enc.Encode(ev)
		}
		return watchEvents(c, id, enc)
	},
}

// event is one line of output: {"type":"stats"|"oom","id":...,"data":...}.
type event struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Data any    `json:"data,omitempty"`
}

func statsEvent(c *cli.Context, id string) (*event, error) {
	ctr, err := loadContainer(c)
	if err != nil {
		return nil, err
	}
	defer ctr.Close()
	st, err := ctr.Stats()
	if err != nil {
		return nil, err
	}
	return &event{Type: "stats", ID: id, Data: st}, nil
}

// watchEvents prints stats every interval and an "oom" event whenever the
// kernel's OOM killer strikes in the container, until it stops.
func watchEvents(c *cli.Context, id string, enc *json.Encoder) error {
	interval := c.Duration("interval")
	oomTick := time.NewTicker(100 * time.Millisecond)
	defer oomTick.Stop()
	lastStats := time.Time{}
	var oomKills uint64
	first := true
	for range oomTick.C {
		ctr, err := loadContainer(c)
		if err != nil {
			return err
		}
		alive := ctr.Status() != libcontainer.Stopped
		kills := ctr.MemoryEvents()["oom_kill"]
		var st *cgroups.Stats
		if alive && time.Since(lastStats) >= interval {
			st, _ = ctr.Stats()
			lastStats = time.Now()
		}
		ctr.Close()
		if !first && kills > oomKills {
			if err := enc.Encode(event{Type: "oom", ID: id}); err != nil {
				return err
			}
		}
		first, oomKills = false, kills
		if !alive {
			return nil
		}
		if st != nil {
			if err := enc.Encode(event{Type: "stats", ID: id, Data: st}); err != nil {
				return err
			}
		}
	}
	return nil
}
