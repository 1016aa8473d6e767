package client

// WithDigestCipher exposes withDigestCipher to the package's external
// tests.
var WithDigestCipher = withDigestCipher
