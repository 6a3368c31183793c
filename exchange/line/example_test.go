package line_test

import (
	"context"
	"fmt"
	"time"

	"github.com/kyneta-go/kyneta/exchange"
	"github.com/kyneta-go/kyneta/exchange/line"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/transport/transporttest"
)

type Request struct {
	ID     float64 `json:"id"`
	Method string  `json:"method"`
}

type Response struct {
	ID     float64 `json:"id"`
	Result string  `json:"result"`
}

// A client sends requests on a line and a server answers on the same line.
// The TypeScript equivalent is Line.protocol({topic: "rpc", client:
// RequestSchema, server: ResponseSchema}); both sides compute the same
// document schema hashes, so Go and TS peers can be either end.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bridge := transporttest.NewBridge(transporttest.BridgeOptions{})
	defer bridge.Close()
	server, _ := exchange.New(exchange.Options{PeerID: "server", Transports: []transport.Transport{bridge.Endpoint("server")}})
	defer server.Shutdown(ctx)
	client, _ := exchange.New(exchange.Options{PeerID: "client", Transports: []transport.Transport{bridge.Endpoint("client")}})
	defer client.Shutdown(ctx)

	rpc, err := line.NewProtocol[Request, Response]("rpc", line.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}

	// The server answers every line a client opens.
	served := make(chan struct{})
	lis, _ := rpc.Listen(server, func(l *line.Line[Response, Request]) {
		go func() {
			defer close(served)
			defer l.Close()
			for range 2 {
				req, err := l.Receive(ctx)
				if err != nil {
					return
				}
				_ = l.Send(ctx, Response{ID: req.ID, Result: "did " + req.Method})
			}
		}()
	})
	defer lis.Close()

	l, _ := rpc.Open(client, "server")
	defer l.Close()
	_ = l.Send(ctx, Request{ID: 1, Method: "ping"})
	_ = l.Send(ctx, Request{ID: 2, Method: "sync"})
	for range 2 {
		resp, err := l.Receive(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(resp.ID, resp.Result)
	}
	<-served
	// Output:
	// 1 did ping
	// 2 did sync
}
