
func.func @f() {
  // expected-error @+1 {{'mtgr.table' op expects parent op 'builtin.module'}}
  mtgr.table @t fixed rows(4) dim(4)
  return
}

