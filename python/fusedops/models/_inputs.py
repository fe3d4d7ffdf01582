"""get_init_inputs / get_inputs shared by the model modules."""
import torch


def make_getters(problems, default_problem):
    def get_init_inputs(problem=default_problem, shapes="KB"):
        return list(problems[problem][shapes][0])

    def get_inputs(problem=default_problem, shapes="KB", device="cpu", dtype=torch.float32):
        # torch.rand, as the reference problems draw their inputs.
        return [torch.rand(shape, device=device, dtype=dtype) for shape in problems[problem][shapes][1]]

    return get_init_inputs, get_inputs
