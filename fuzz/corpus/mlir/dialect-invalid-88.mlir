
func.func @f(%x: !mtgr.jagged<8xf32>, %l: !mtgr.layout) {
  // expected-error @+1 {{result must be tensor<?x nU x 8 x f32>}}
  %u = mtgr.extract_user %x, %l : !mtgr.jagged<8xf32> -> tensor<?x2x4xf32>
  return
}

