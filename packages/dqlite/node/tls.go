package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
)

// certFlags are the TLS flags shared by the node and the admin commands.
type certFlags struct {
	cert, key, ca *string
}

func tlsFlags(set *flag.FlagSet) certFlags {
	return certFlags{
		cert: set.String("tls-cert", "", "PEM certificate this program presents (with --tls-key: mutual TLS on every connection, plaintext refused)"),
		key:  set.String("tls-key", "", "PEM private key of --tls-cert"),
		ca:   set.String("tls-ca", "", "PEM certificate(s) of the CA that signs nodes' and clients' certificates (default: --tls-cert itself, one cluster certificate)"),
	}
}

// configs loads the certificates: a listening config that requires a client
// certificate signed by the CA (go-dqlite's proxy treats a config with
// ClientCAs as the server side) and a dialling config for node to node
// connections. Both nil without --tls-cert. With nameFromCert a node checks
// its peers against the first DNS name of its own certificate (every node's
// certificate carries it); otherwise against the address dialled.
func (f certFlags) configs(nameFromCert bool) (*tls.Config, *tls.Config, error) {
	if *f.cert == "" && *f.key == "" && *f.ca == "" {
		return nil, nil, nil
	}
	if *f.cert == "" || *f.key == "" {
		return nil, nil, errors.New("--tls-cert and --tls-key go together")
	}
	pair, err := tls.LoadX509KeyPair(*f.cert, *f.key)
	if err != nil {
		return nil, nil, fmt.Errorf("loading --tls-cert/--tls-key: %w", err)
	}
	caFile := *f.ca
	if caFile == "" {
		caFile = *f.cert
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, nil, fmt.Errorf("%s holds no PEM certificate", caFile)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, nil, fmt.Errorf("parsing --tls-cert: %w", err)
	}
	listen := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{pair},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
	}
	dial := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}, RootCAs: pool}
	if nameFromCert && len(leaf.DNSNames) > 0 {
		dial.ServerName = leaf.DNSNames[0]
	}
	return listen, dial, nil
}
