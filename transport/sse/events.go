package sse

import (
	"bytes"
	"encoding/json"
	"io"
)

// The event-stream format (WHATWG HTML, "Server-sent events"): lines
// ending in CRLF, LF or CR; "field: value" lines; a blank line dispatches
// the event; lines starting with ':' are comments.

// Event types this package uses besides the default "message", which
// carries the wire's text frames. Browsers' EventSource.onmessage (what the
// reference client listens to) only sees "message" events, so these are
// invisible to it.
const (
	// eventMessage is the default event type: data is one text frame.
	eventMessage = "message"
	// eventStream carries the stream id the Go server assigns to a stream;
	// a Go client echoes it in headerStreamID on every POST so the server
	// can refuse uploads meant for an earlier stream.
	eventStream = "kyneta-stream"
	// eventClose precedes a stream end the server initiated; data is
	// {"code":N,"reason":"..."} with the WebSocket server's close codes.
	eventClose = "kyneta-close"
)

// Event is one dispatched server-sent event.
type sseEvent struct {
	// Type is the "event" field, or eventMessage when absent.
	Type string
	// Data is the "data" lines joined by "\n".
	Data string
	// ID is the stream's last event id after this event (the "id" field
	// persists across events, as in EventSource).
	ID string
}

// errEventTooLarge is returned by the event reader when a line or an
// event's data exceeds the reader's limit.
var errEventTooLarge = newError(reasonEventTooLarge, "", nil)

// appendEvent appends one event to dst: an "event:" line unless typ is
// empty or eventMessage, one "data:" line per line of data (text frames
// contain no line breaks, but any string is framed correctly), and the
// blank line that dispatches it.
func appendEvent(dst []byte, typ, data string) []byte {
	if typ != "" && typ != eventMessage {
		dst = append(dst, "event: "...)
		dst = append(dst, typ...)
		dst = append(dst, '\n')
	}
	for {
		i := indexLineBreak(data)
		dst = append(dst, "data: "...)
		if i < 0 {
			dst = append(dst, data...)
			break
		}
		dst = append(dst, data[:i]...)
		dst = append(dst, '\n')
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
	return append(dst, '\n', '\n')
}

func indexLineBreak(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' || s[i] == '\r' {
			return i
		}
	}
	return -1
}

// closeEvent is the payload of an eventClose event.
type closeEvent struct {
	Code   int    `json:"code"`
	Reason string `json:"reason"`
}

func appendCloseEvent(dst []byte, code int, reason string) []byte {
	b, _ := json.Marshal(closeEvent{Code: code, Reason: reason})
	return appendEvent(dst, eventClose, string(b))
}

// parseCloseEvent reads an eventClose payload. A payload it cannot read
// yields code 0 (the stream still ended; only the reason is unknown).
func parseCloseEvent(data string) (code int, reason string) {
	var ce closeEvent
	if err := json.Unmarshal([]byte(data), &ce); err != nil || ce.Code < 0 || ce.Code > 4999 {
		return 0, ""
	}
	return ce.Code, ce.Reason
}

// eventReader decodes an event stream. It never holds more than max bytes
// of a line or of an event's data; beyond that Next fails with
// errEventTooLarge.
type eventReader struct {
	r   io.Reader
	max int

	buf   []byte // unread input is buf[off:]
	off   int
	eof   bool
	err   error // read error to return once buf is used up
	skipL bool  // the previous line ended in CR: ignore a leading LF
	first bool  // at the stream start (a BOM is skipped)

	typ     string
	data    []byte
	hasData bool
	lastID  string
}

func newEventReader(r io.Reader, max int) *eventReader {
	return &eventReader{r: r, max: max, first: true}
}

// Next returns the next dispatched event. At the end of the stream it
// returns io.EOF (an event not terminated by a blank line is discarded, as
// the standard says), or the read error.
func (er *eventReader) Next() (sseEvent, error) {
	for {
		line, err := er.line()
		if err != nil {
			return sseEvent{}, err
		}
		if len(line) == 0 {
			if !er.hasData {
				er.typ = ""
				continue
			}
			ev := sseEvent{Type: er.typ, Data: string(er.data), ID: er.lastID}
			if ev.Type == "" {
				ev.Type = eventMessage
			}
			er.typ, er.data, er.hasData = "", er.data[:0], false
			return ev, nil
		}
		if line[0] == ':' {
			continue // comment (heartbeats)
		}
		name, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			name, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(name) {
		case "event":
			er.typ = string(value)
		case "data":
			if er.hasData {
				er.data = append(er.data, '\n')
			}
			if len(er.data)+len(value) > er.max {
				return sseEvent{}, errEventTooLarge
			}
			er.data = append(er.data, value...)
			er.hasData = true
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				er.lastID = string(value)
			}
		}
		// "retry" and unknown fields are ignored: reconnection timing is
		// the client program's decision.
	}
}

// line returns the next line without its terminator. The slice is valid
// until the next call.
func (er *eventReader) line() ([]byte, error) {
	scan := 0
	for {
		rest := er.buf[er.off:]
		if er.skipL && len(rest) > 0 {
			er.skipL = false
			if rest[0] == '\n' {
				er.off++
				rest = rest[1:]
			}
		}
		if er.first && len(rest) >= 3 {
			er.first = false
			if rest[0] == 0xEF && rest[1] == 0xBB && rest[2] == 0xBF {
				er.off += 3
				rest = rest[3:]
				scan = max(0, scan-3)
			}
		}
		if i := bytes.IndexAny(rest[scan:], "\r\n"); i >= 0 {
			i += scan
			if i > er.max {
				return nil, errEventTooLarge
			}
			line := rest[:i]
			if rest[i] == '\r' {
				er.skipL = true
			}
			er.off += i + 1
			return line, nil
		}
		scan = len(rest)
		if len(rest) > er.max {
			return nil, errEventTooLarge
		}
		if er.eof {
			if er.err != nil {
				return nil, er.err
			}
			return nil, io.EOF
		}
		er.fill()
	}
}

// fill reads more input, compacting the buffer first.
func (er *eventReader) fill() {
	if er.off > 0 {
		n := copy(er.buf, er.buf[er.off:])
		er.buf = er.buf[:n]
		er.off = 0
	}
	if cap(er.buf)-len(er.buf) < 512 {
		nb := make([]byte, len(er.buf), max(2*cap(er.buf), 4096))
		copy(nb, er.buf)
		er.buf = nb
	}
	n, err := er.r.Read(er.buf[len(er.buf):cap(er.buf)])
	er.buf = er.buf[:len(er.buf)+n]
	if er.first && len(er.buf) > 0 && len(er.buf) < 3 && !bytes.HasPrefix([]byte{0xEF, 0xBB, 0xBF}, er.buf) {
		er.first = false // too short for a BOM and not a prefix of one
	}
	if err != nil {
		er.eof = true
		if err != io.EOF {
			er.err = err
		}
	}
}
