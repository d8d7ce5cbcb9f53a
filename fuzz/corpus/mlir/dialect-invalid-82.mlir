
func.func @f(%x: !mtgr.jagged<8xf32>) {
  // expected-error @+1 {{cannot place rows of width 8 at column 6 of rows of width 12}}
  %p = mtgr.column_pad %x [6, 12] : !mtgr.jagged<8xf32> -> !mtgr.jagged<12xf32>
  return
}

