"""Tools for learning and checking autograd: finite-difference gradient checks
(:mod:`.gradcheck`), autograd against hand-derived gradients (:mod:`.compare`), a trace of the
backward pass (:mod:`.trace`), the graph drawing (:mod:`.viz`) and hypothesis strategies for
property tests (:mod:`.testing`, which needs hypothesis)."""
