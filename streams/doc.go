// Package streams is the server's data path around the engine: ingest (decoders and
// HTTP handlers that validate, normalise and compute H3 cells), the durable event log
// (NATS JetStream), the engine loop, and the hub that fans changes out to WebSocket
// clients. Data flows one way: ingest → log → engine → hub → clients.
package streams
