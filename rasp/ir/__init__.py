"""The IR: s-ops and selectors (`sops`), their networkx DAG (`graph`), the numpy
evaluator that is the ground truth (`evaluate`) and layer counting (`analysis`)."""
