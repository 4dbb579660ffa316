module commandd

go 1.26.8

require (
	github.com/twpayne/go-geom v1.7.0
	github.com/uber/h3-go/v4 v4.5.0
)
