package client

// WithSCRAMNonce exposes withSCRAMNonce to the package's external tests.
var WithSCRAMNonce = withSCRAMNonce
