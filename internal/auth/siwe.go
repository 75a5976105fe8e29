package auth

import "github.com/camchain/camchain/internal/auth/signin"

// The EIP-4361 message and the device approval are package signin's, which
// a client links without the hub's side.
type (
	Message  = signin.Message
	Expect   = signin.Expect
	Approval = signin.Approval
)

const (
	SIWEVersion         = signin.SIWEVersion
	LabelDeviceApproval = signin.LabelDeviceApproval
	ApprovalStatement   = signin.ApprovalStatement
)

// ParseMessage parses s by the EIP-4361 grammar, strictly
// (signin.ParseMessage).
func ParseMessage(s string) (*Message, error) { return signin.ParseMessage(s) }

// ParseApproval parses a device approval's text (signin.ParseApproval).
func ParseApproval(s string) (*Approval, error) { return signin.ParseApproval(s) }

// DeviceText is s as the approval shows it (signin.DeviceText).
func DeviceText(s string, max int) string { return signin.DeviceText(s, max) }
