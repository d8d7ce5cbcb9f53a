
func.func @f() {
  // expected-error @+1 {{needs at least one user feature}}
  %0 = mtgr.profile_tokens () weights() biases() : () -> tensor<?x1x8xf32>
  return
}

