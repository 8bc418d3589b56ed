package mlmesh

// Protocol is what a port speaks, in Istio's spelling: the protocol of a
// Gateway server's or a ServiceEntry's port, and the prefix of a Service
// port's name (Istio's protocol selection). serving, ingress and egress
// use this one type (each names it Protocol) and accept the protocols that
// mean something for their ports.
type Protocol string

// The protocols.
const (
	HTTP  Protocol = "HTTP"
	HTTPS Protocol = "HTTPS"
	HTTP2 Protocol = "HTTP2"
	GRPC  Protocol = "GRPC"
	TLS   Protocol = "TLS"
	TCP   Protocol = "TCP"
)
