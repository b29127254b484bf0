package api

import (
	"github.com/paygate/paygate/internal/auth"
	"github.com/paygate/paygate/internal/store"
)

// live holds the platform keys once SetPlatformKeys has been called (after
// a rotation); until then Signer and PlatformKeys are used.
type live struct {
	signer *auth.ResponseSigner
	keys   []*store.PlatformKey
}

// SetPlatformKeys makes signer sign responses from now on and keys the
// list of GET /v1/platform-keys: a node picks up a rotation this way while
// it serves.
func (s *Server) SetPlatformKeys(signer *auth.ResponseSigner, keys []*store.PlatformKey) {
	s.live.Store(&live{signer: signer, keys: keys})
}

// signer is the key that signs responses now.
func (s *Server) signer() *auth.ResponseSigner {
	if l := s.live.Load(); l != nil {
		return l.signer
	}
	return s.Signer
}

// platformKeys are the keys GET /v1/platform-keys lists now.
func (s *Server) platformKeys() []*store.PlatformKey {
	if l := s.live.Load(); l != nil {
		return l.keys
	}
	return s.PlatformKeys
}

// CurrentSigner is the signer of responses now.
func (s *Server) CurrentSigner() *auth.ResponseSigner { return s.signer() }
