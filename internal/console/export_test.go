package console

// SetExportChunk lets tests stream an export over many chunks with few rows.
func SetExportChunk(n int) (restore func()) {
	old := exportChunk
	exportChunk = n
	return func() { exportChunk = old }
}
