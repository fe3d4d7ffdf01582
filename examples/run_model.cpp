// fusedops_run_model: runs a model exported by export_models.py from C++, as a deployment would, and
// checks its output against the expected one.
//
//   fusedops_run_model MODEL IO_FILE [--device cpu|cuda] [--tolerance T]
//
// MODEL is a TorchScript file (torch.jit.save, .pt) or an AOTInductor package (.pt2); IO_FILE is a
// torch.save()d dict {"inputs": [tensors], "expected": tensor}. Prints the max abs error and the relative
// L2 error of the output; exits 0 when the relative L2 error is at most T (default 1e-5), 1 when it is
// not, 2 on bad usage or when the model cannot be loaded or run. Float32 convolutions on CUDA run in TF32
// by default, as in PyTorch: a T of about 2e-3 suits them.
//
// Linking fusedops registers its operators, which both model formats call by name.
#include <torch/csrc/inductor/aoti_package/model_package_loader.h>
#include <torch/cuda.h>
#include <torch/script.h>

#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

namespace {

struct Args {
  std::string model, io_file;
  c10::Device device = c10::kCPU;
  double tolerance = 1e-5;
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Args parse_args(int argc, char** argv) {
  Args args;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--device" && has_value) {
      args.device = c10::Device(argv[++i]);
      if (!args.device.is_cpu() && !args.device.is_cuda()) throw std::invalid_argument("--device: cpu or cuda");
    } else if (arg == "--tolerance" && has_value) {
      const char* value = argv[++i];
      char* end = nullptr;
      args.tolerance = std::strtod(value, &end);
      if (end == value || *end != '\0') throw std::invalid_argument(std::string("--tolerance: not a number: ") + value);
    } else if (arg.rfind("--", 0) == 0) {
      throw std::invalid_argument("unknown option or missing value: " + arg);
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.size() != 2) throw std::invalid_argument("expected MODEL and IO_FILE");
  args.model = positional[0];
  args.io_file = positional[1];
  return args;
}

// c10::Error's what() carries a C++ backtrace; a user needs the message alone.
const char* message_of(const std::exception& e) {
  const auto* error = dynamic_cast<const c10::Error*>(&e);
  return error ? error->what_without_backtrace() : e.what();
}

struct Io {
  std::vector<at::Tensor> inputs;
  at::Tensor expected;
};

Io load_io(const std::string& path, c10::Device device) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error("cannot open " + path);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  const auto dict = torch::jit::pickle_load(bytes).toGenericDict();
  Io io;
  for (const c10::IValue& x : dict.at("inputs").toListRef()) io.inputs.push_back(x.toTensor().to(device));
  io.expected = dict.at("expected").toTensor();
  return io;
}

at::Tensor run_torchscript(const Args& args, const std::vector<at::Tensor>& inputs) {
  torch::jit::Module model = torch::jit::load(args.model, args.device);
  model.eval();
  return model.forward(std::vector<c10::IValue>(inputs.begin(), inputs.end())).toTensor();
}

// AOTInductor compiles a package for one kind of device: say so rather than fail inside the runner.
at::Tensor run_aoti(const Args& args, const std::vector<at::Tensor>& inputs) {
  const auto metadata = torch::inductor::AOTIModelPackageLoader::load_metadata_from_package(args.model, "model");
  const auto compiled_for = metadata.find("AOTI_DEVICE_KEY");
  if (compiled_for != metadata.end() && c10::Device(compiled_for->second).type() != args.device.type()) {
    throw std::runtime_error(args.model + " was compiled for " + compiled_for->second + ", not " +
                             args.device.str() + "; export it again for that device");
  }
  torch::inductor::AOTIModelPackageLoader loader(args.model, "model", /*run_single_threaded=*/false,
                                                 /*num_runners=*/1, args.device.index());
  const std::vector<at::Tensor> outputs = loader.run(inputs);
  if (outputs.size() != 1) throw std::runtime_error("expected one output, got " + std::to_string(outputs.size()));
  return outputs[0];
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  try {
    args = parse_args(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "error: " << message_of(e) << "\nusage: " << argv[0]
              << " MODEL(.pt|.pt2) IO_FILE [--device cpu|cuda] [--tolerance T]\n";
    return 2;
  }

  if (args.device.is_cuda() && !torch::cuda::is_available()) {
    std::cerr << "error: --device " << args.device << " but CUDA is not available\n";
    return 2;
  }

  at::Tensor output, expected;
  try {
    Io io = load_io(args.io_file, args.device);
    c10::InferenceMode inference;
    output = ends_with(args.model, ".pt2") ? run_aoti(args, io.inputs) : run_torchscript(args, io.inputs);
    expected = io.expected;
  } catch (const std::exception& e) {
    std::cerr << "error: " << message_of(e) << "\n";
    return 2;
  }

  std::cout << args.model << " on " << args.device << ": output " << output.sizes() << " " << output.scalar_type()
            << "\n";
  if (output.sizes() != expected.sizes()) {
    std::cout << "MISMATCH: expected shape " << expected.sizes() << "\n";
    return 1;
  }
  const at::Tensor out64 = output.to(c10::kCPU, c10::kDouble), expected64 = expected.to(c10::kDouble);
  const at::Tensor diff = out64 - expected64;
  const double max_abs = diff.numel() ? diff.abs().max().item<double>() : 0.0;
  const double expected_norm = expected64.norm().item<double>();
  const double rel_l2 = expected_norm > 0 ? diff.norm().item<double>() / expected_norm : diff.norm().item<double>();
  std::cout << std::scientific << std::setprecision(3) << "max_abs_error=" << max_abs << " rel_l2_error=" << rel_l2
            << " tolerance=" << args.tolerance << "\n";
  if (!(rel_l2 <= args.tolerance)) {  // a NaN output fails too
    std::cout << "MISMATCH\n";
    return 1;
  }
  std::cout << "OK\n";
  return 0;
}
