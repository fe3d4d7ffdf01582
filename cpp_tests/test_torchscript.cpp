// TorchScript models scripted in Python (make_scripted_models.py, run by a CTest fixture) and run from
// C++ with torch::jit::load: their calls to torch.ops.fusedops.* reach this library through the dispatcher.
#include <torch/script.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "test_utils.h"

namespace fusedops_test {
namespace {

// The cases of make_scripted_models.py.
struct Scripted {
  const char* name;
};
std::string name_of(const Scripted& s) { return s.name; }

const Scripted kScripted[] = {
    {"conv_transpose1d"},
    {"conv_transpose1d_grouped_bias"},
    {"conv_transpose1d_dilated"},
    {"elementwise_add_broadcast"},
    {"convt2d_gelu_groupnorm"},
    {"conv2d_add_scale_sigmoid_groupnorm"},
    {"convt2d_bn_tanh_maxpool_groupnorm"},
};

// A torch.save()d dict {"inputs": [tensors], "expected": tensor}.
c10::Dict<c10::IValue, c10::IValue> load_io(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  return torch::jit::pickle_load(bytes).toGenericDict();
}

class TorchScriptModel : public DeviceTest<std::tuple<c10::DeviceType, Scripted>> {};

TEST_P(TorchScriptModel, MatchesReference) {
  const auto& [device, scripted] = GetParam();
  const std::string base = std::string(FUSEDOPS_SCRIPTED_MODELS_DIR) + "/" + scripted.name;
  ASSERT_TRUE(std::filesystem::exists(base + "_io.pt"))
      << base << "_io.pt is missing: CTest's fixture fusedops_make_scripted_models writes it";

  torch::jit::Module model = torch::jit::load(base + ".pt", device);
  const auto io = load_io(base + "_io.pt");
  std::vector<c10::IValue> inputs;
  for (const c10::IValue& x : io.at("inputs").toListRef()) inputs.emplace_back(x.toTensor().to(device));
  torch::NoGradGuard no_grad;
  const at::Tensor out = model.forward(inputs).toTensor();
  EXPECT_EQ(out.device().type(), device);
  EXPECT_TRUE(matches_reference(out, io.at("expected").toTensor(), at::kFloat));
}

INSTANTIATE_TEST_SUITE_P(Scripted, TorchScriptModel,
                         ::testing::Combine(::testing::ValuesIn(kDevices), ::testing::ValuesIn(kScripted)),
                         param_name<TorchScriptModel::ParamType>);

}  // namespace
}  // namespace fusedops_test
