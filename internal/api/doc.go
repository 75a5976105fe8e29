// Package api defines the hub's versioned JSON HTTP API: the wire shapes
// (shared by the server in package hub and the client used by the camchain
// command), the error codes with their HTTP statuses, and a Client. The playback
// socket's client is package playconn, and the sign-in message package
// auth/signin: a program making plain API calls (the camera agent) links no
// WebSocket and none of the hub's login service.
//
// docs/openapi.yaml describes the same API for other clients; a test keeps
// the two in step.
package api
