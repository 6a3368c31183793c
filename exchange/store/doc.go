// Package store defines the persistence contract of the exchange: a record
// stream per document (meta records and payload entries) with a
// materialized meta index.
package store
