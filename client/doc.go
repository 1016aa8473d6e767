// Package client will be the engine under the generated stubs: framing,
// concurrent calls with contexts, typed errors, authentication, keepalive,
// events and streams. It is not written yet (issue #4).
package client
