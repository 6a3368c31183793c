package sse

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/kyneta-go/kyneta/transport"
)

// FuzzEventReader: any byte stream decodes without panicking, every event
// respects the size limit, reading byte by byte gives the same events, and
// re-encoding the events reads back the same.
func FuzzEventReader(f *testing.F) {
	for _, s := range []string{
		"data: hello\n\n",
		": ok\n\nevent: kyneta-stream\ndata: 00ff\n\n",
		"event: kyneta-close\ndata: {\"code\":1001,\"reason\":\"Server draining\"}\n\n",
		"data: [\"2c\",1,{\"t\":1,\"id\":\"p\",\"y\":\"user\"}]\r\n\r\n",
		"\xEF\xBB\xBFdata:a\rdata:b\r\r",
		"id: 1\nretry: 5\ndata\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		const limit = 256
		whole, errW := readAll(bytes.NewReader(in), limit)
		bytewise, errB := readAll(iotest.OneByteReader(bytes.NewReader(in)), limit)
		if (errW == nil) != (errB == nil) || len(whole) != len(bytewise) {
			t.Fatalf("chunking changed the result: %v/%v, %d/%d events", errW, errB, len(whole), len(bytewise))
		}
		var re []byte
		for i, ev := range whole {
			if ev != bytewise[i] {
				t.Fatalf("event %d differs: %q vs %q", i, ev, bytewise[i])
			}
			if len(ev.Data) > limit {
				t.Fatalf("event of %d bytes above the limit", len(ev.Data))
			}
			re = appendEvent(re, ev.Type, ev.Data)
			parseCloseEvent(ev.Data)
		}
		again, err := readAll(bytes.NewReader(re), 1<<20)
		if err != nil || len(again) != len(whole) {
			t.Fatalf("re-encoded: %v, %d events", err, len(again))
		}
		for i, ev := range again {
			if ev.Type != whole[i].Type || ev.Data != whole[i].Data {
				t.Fatalf("re-encoded event %d: %q vs %q", i, ev, whole[i])
			}
		}
	})
}

// FuzzUpload: any upload body gets one of the documented answers and never
// a panic; the stream stays usable for a valid frame afterwards.
func FuzzUpload(f *testing.F) {
	p := newPipe(pipeOptions{threshold: 40})
	frames, _ := p.sendBinary(establish("p"))
	p.close()
	f.Add(frames[0])
	f.Add([]byte(`["2c",1,{"t":1,"id":"p","y":"user"}]`))
	f.Add([]byte(`["2f",1,0,2,10,"abcde"]`))
	f.Add([]byte{3, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 'x'})
	f.Add([]byte{})
	rec := newRecorder()
	srv, err := NewServer(ServerOptions{})
	if err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	if err := srv.Initialize(ctx, rec.context("server")); err != nil {
		f.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = srv.Stop(ctx) })
	f.Fuzz(func(t *testing.T, body []byte) {
		st := newStream(srv, transport.ConnInfo{PeerID: "p"}, nil, nil)
		defer st.release()
		ch, err := srv.base.AddChannel(transport.Link{Send: st.send, Meta: st.info})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _, _ = srv.base.RemoveChannel(ch.ID) }()
		st.attach(ch)
		switch status, _ := st.receive(body); status {
		case http.StatusOK, http.StatusAccepted, http.StatusBadRequest:
		default:
			t.Fatalf("status %d", status)
		}
		valid := newPipe(pipeOptions{})
		defer valid.close()
		text, _ := valid.sendText(establish("q"))
		if status, resp := st.receive([]byte(strings.Clone(text[0]))); status != http.StatusOK {
			t.Fatalf("valid frame after fuzz input: %d %v", status, resp)
		}
	})
}
