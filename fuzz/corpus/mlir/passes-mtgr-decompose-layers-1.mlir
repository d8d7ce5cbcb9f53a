

// A single Linear: no SiLU after the last layer.
// CHECK-LABEL: func.func @task_head
// CHECK:      %[[Y:.*]] = mtgr.linear %{{.*}}, %{{.*}}, %{{.*}} : !mtgr.jagged<8xf32>, tensor<1x8xf32>, tensor<1xf32> -> !mtgr.jagged<1xf32>
// CHECK-NEXT: return %[[Y]]
func.func @task_head(%x: !mtgr.jagged<8xf32>, %w: tensor<1x8xf32>, %b: tensor<1xf32>) -> !mtgr.jagged<1xf32> {
  %y = mtgr.task_head "ctr" %x weights(%w) biases(%b) : (!mtgr.jagged<8xf32>, tensor<1x8xf32>, tensor<1xf32>) -> !mtgr.jagged<1xf32>
  return %y : !mtgr.jagged<1xf32>
}

