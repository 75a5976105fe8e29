// Package api defines the hub's versioned JSON HTTP API: the wire shapes
// (shared by the server in package hub and the client used by the camchain
// command), the error codes with their HTTP statuses, and a Client.
//
// docs/openapi.yaml describes the same API for other clients; a test keeps
// the two in step.
package api
