// A Go HTTPS client for the integration tests (built by the test with the host's Go toolchain):
// one request per METHOD PATH pair over one keep-alive connection, HTTP/1.1, the server's
// self-signed certificate accepted. Prints "METHOD PATH STATUS" for each answered request.
// A POST carries the body "payload=stolen", which the server must never see when it is denied.
//
// usage: goclient BASEURL METHOD PATH [METHOD PATH ...]
package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

func main() {
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		TLSNextProto:    map[string]func(string, *tls.Conn) http.RoundTripper{}, // no HTTP/2
	}}
	for i := 2; i+1 < len(os.Args); i += 2 {
		var body io.Reader
		if os.Args[i] == "POST" {
			body = strings.NewReader("payload=stolen")
		}
		req, err := http.NewRequest(os.Args[i], os.Args[1]+os.Args[i+1], body)
		if err == nil {
			var resp *http.Response
			if resp, err = client.Do(req); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				fmt.Println(os.Args[i], os.Args[i+1], resp.StatusCode)
				continue
			}
		}
		fmt.Println("error:", err)
		os.Exit(1)
	}
}
