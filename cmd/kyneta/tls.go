package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"
)

// certificate is a reloadable TLS certificate and key.
type certificate struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
}

func loadCertificate(certFile, keyFile string) (*tls.Certificate, error) {
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate: %w", err)
	}
	if c.Leaf == nil {
		if c.Leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return nil, fmt.Errorf("TLS certificate: %w", err)
		}
	}
	return &c, nil
}

func openCertificate(certFile, keyFile string) (*certificate, error) {
	if (certFile == "") != (keyFile == "") {
		return nil, &usageError{"serve: --tls-cert and --tls-key go together"}
	}
	c, err := loadCertificate(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	h := &certificate{certFile: certFile, keyFile: keyFile}
	h.cur.Store(c)
	return h, nil
}

// reload re-reads the pair; on error the current one stays in force.
func (h *certificate) reload() (*tls.Certificate, error) {
	c, err := loadCertificate(h.certFile, h.keyFile)
	if err != nil {
		return nil, err
	}
	h.cur.Store(c)
	return c, nil
}

// config is the server's TLS configuration: every handshake gets the
// certificate in force at that moment.
func (h *certificate) config() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"}, // WebSocket upgrades are HTTP/1.1
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			if c := h.cur.Load(); c != nil {
				return c, nil
			}
			return nil, errors.New("no certificate")
		},
	}
}

// certAttrs describes a certificate for the log.
func certAttrs(c *tls.Certificate) []any {
	l := c.Leaf
	return []any{"subject", l.Subject.String(), "dns", l.DNSNames, "serial", l.SerialNumber.String(),
		"not_after", l.NotAfter.UTC().Format(time.RFC3339)}
}

// tlsListener serves TLS on ln with the certificate in force.
func tlsListener(ln net.Listener, c *certificate) net.Listener {
	return tls.NewListener(ln, c.config())
}
