package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

// logger writes husk's messages: to stderr, and to --log when given, as
// text or as the JSON lines containerd and conmon read
// ({"level","msg","time"}). Engines take the last error line as the
// failure (podman parses the whole file as one object), so without
// --debug only errors reach the log file.
type logWriter struct {
	file  io.Writer
	json  bool
	debug bool
}

var logger = &logWriter{}

func setupLogging(c *cli.Context) error {
	logger.debug = c.Bool("debug")
	switch f := c.String("log-format"); f {
	case "text":
	case "json":
		logger.json = true
	default:
		return fmt.Errorf("--log-format: unknown format %q (want text or json)", f)
	}
	if path := c.String("log"); path != "" {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_SYNC, 0o644)
		if err != nil {
			return fmt.Errorf("opening log file: %w", err)
		}
		logger.file = f
	}
	return nil
}

func (l *logWriter) errorf(format string, args ...any) { l.log("error", fmt.Sprintf(format, args...)) }
func (l *logWriter) warnf(format string, args ...any)  { l.log("warning", fmt.Sprintf(format, args...)) }
func (l *logWriter) debugf(format string, args ...any) {
	if l.debug {
		l.log("debug", fmt.Sprintf(format, args...))
	}
}

// log prints one line. Errors always go to stderr (a person reads it);
// the log file gets errors, and everything else only with --debug.
func (l *logWriter) log(level, msg string) {
	msg = strings.TrimSpace(msg)
	if level == "error" || l.file == nil {
		fmt.Fprintf(os.Stderr, "husk: %s\n", msg)
	}
	if l.file != nil && (level == "error" || l.debug) {
		l.file.Write(l.format(level, msg))
	}
}

func (l *logWriter) format(level, msg string) []byte {
	now := time.Now().Format(time.RFC3339Nano)
	if l.json {
		line, _ := json.Marshal(struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
			Time  string `json:"time"`
		}{level, msg, now})
		return append(line, '\n')
	}
	return fmt.Appendf(nil, "time=%q level=%s msg=%q\n", now, level, msg)
}

// initLog passes libcontainer's messages, init's among them, to the
// logger.
func initLog(level, msg string) {
	switch level {
	case "debug":
		logger.debugf("%s", msg)
	default:
		logger.log(level, msg)
	}
}
