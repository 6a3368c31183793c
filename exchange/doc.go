// Package exchange keeps documents in sync between peers over Kyneta
// transports, interoperable with the TypeScript @kyneta/exchange.
package exchange
