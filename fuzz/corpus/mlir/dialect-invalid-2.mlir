
// expected-error @+1 {{jagged element type must be f32, i32 or i64, got 'f16'}}
func.func @f(%a: !mtgr.jagged<4xf16>)

