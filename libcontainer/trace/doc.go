// Package trace records a timeline of what husk does, for --trace and
// HUSK_TRACE: spans with a start time and a duration, in the Chrome
// trace-event format that Perfetto and chrome://tracing open. It exists
// because husk's start-up is spread over processes no profiler sees as
// one: the husk command, the container's init (and an intermediate init)
// and, for a created container, a later husk start.
//
// It costs nothing when off: the recorder is nil, and Begin on a nil
// recorder returns a shared no-op. The parent and the container's init
// each record their own spans; init sends its spans to the parent over
// the sync connection before ready, and to husk start (or husk exec) over
// the start connection after; each husk command appends its spans, init's
// among them, to one file in the format's array form, whose closing
// bracket is optional, so create, start and delete can each add theirs.
package trace
