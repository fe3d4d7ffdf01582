// fusedops::conv_transpose1d through the C++ API (the dispatcher): every hyper-parameter, autograd and
// argument errors, against at::conv_transpose1d computed in float64.
#include <fusedops/fusedops.h>

#include "test_utils.h"

namespace fusedops_test {
namespace {

struct Conv {
  const char* name;
  int64_t batch, in_channels, out_channels, length, kernel;
  int64_t stride, padding, output_padding, groups, dilation;
  bool bias;
};
std::string name_of(const Conv& c) { return c.name; }

// Fields: name, N, C_in, C_out, L, K, stride, padding, output_padding, groups, dilation, bias.
// Several input-channel chunks and output tiles of the CUDA tensor-core kernel.
const Conv kManyChannels{"ManyChannels", 2, 96, 80, 70, 3, 2, 1, 1, 1, 1, true};
const Conv kConvs[] = {
    {"Plain", 2, 4, 3, 9, 3, 1, 0, 0, 1, 1, false},
    {"Bias", 2, 4, 3, 9, 3, 1, 0, 0, 1, 1, true},
    {"Stride2", 2, 4, 3, 9, 3, 2, 0, 0, 1, 1, false},
    {"Padding2", 2, 4, 3, 9, 5, 1, 2, 0, 1, 1, true},
    {"OutputPadding", 2, 4, 3, 9, 3, 3, 1, 2, 1, 1, false},
    {"Groups2", 2, 4, 6, 9, 3, 1, 0, 0, 2, 1, true},
    {"Depthwise", 3, 4, 4, 9, 3, 2, 1, 1, 4, 1, false},
    {"Dilation3", 2, 4, 3, 9, 3, 1, 0, 0, 1, 3, false},
    {"DilatedOutputPadding", 2, 4, 3, 9, 3, 1, 1, 2, 1, 3, true},  // output_padding < dilation suffices
    {"Kernel1", 2, 4, 3, 9, 1, 2, 0, 1, 1, 1, true},
    {"KernelLongerThanInput", 2, 3, 2, 4, 7, 1, 3, 0, 1, 1, false},
    {"Everything", 3, 6, 4, 11, 4, 2, 3, 1, 2, 2, true},
    kManyChannels,
};

struct ConvInputs {
  at::Tensor input, weight;
  std::optional<at::Tensor> bias;
};

ConvInputs make_inputs(const Conv& c, at::ScalarType dtype, c10::DeviceType device, bool requires_grad = false) {
  ConvInputs in{randn({c.batch, c.in_channels, c.length}, dtype, device, requires_grad),
                randn({c.in_channels, c.out_channels / c.groups, c.kernel}, dtype, device, requires_grad),
                std::nullopt};
  if (c.bias) in.bias = randn({c.out_channels}, dtype, device, requires_grad);
  return in;
}

at::Tensor run_fusedops(const Conv& c, const ConvInputs& in) {
  return fusedops::conv_transpose1d(in.input, in.weight, in.bias, c.stride, c.padding, c.output_padding, c.groups,
                                    c.dilation);
}

at::Tensor run_aten(const Conv& c, const ConvInputs& in) {
  return at::conv_transpose1d(in.input, in.weight, in.bias, c.stride, c.padding, c.output_padding, c.groups,
                              c.dilation);
}

// The float64 CPU copies of `in`, as leaves of a new graph when `requires_grad`.
ConvInputs f64_leaves(const ConvInputs& in, bool requires_grad = false) {
  ConvInputs out{f64_leaf(in.input, requires_grad), f64_leaf(in.weight, requires_grad), std::nullopt};
  if (in.bias) out.bias = f64_leaf(*in.bias, requires_grad);
  return out;
}

// -- forward and backward, every configuration --------------------------------------------------------------

class ConvTranspose1d : public DeviceTest<std::tuple<c10::DeviceType, at::ScalarType, Conv>> {};

TEST_P(ConvTranspose1d, ForwardMatchesAten) {
  const auto& [device, dtype, conv] = GetParam();
  ConvInputs in = make_inputs(conv, dtype, device);
  for (const bool contiguous : {true, false}) {
    SCOPED_TRACE(contiguous ? "contiguous input" : "strided input");
    if (!contiguous) in.input = randn({conv.length, conv.batch, conv.in_channels}, dtype, device).permute({1, 2, 0});
    const at::Tensor out = run_fusedops(conv, in);
    EXPECT_EQ(out.scalar_type(), dtype);
    EXPECT_EQ(out.device().type(), device);
    EXPECT_TRUE(matches_reference(out, run_aten(conv, f64_leaves(in)), dtype));
  }
}

TEST_P(ConvTranspose1d, GradMatchesAten) {
  const auto& [device, dtype, conv] = GetParam();
  const ConvInputs in = make_inputs(conv, dtype, device, /*requires_grad=*/true);
  const at::Tensor out = run_fusedops(conv, in);
  const at::Tensor grad_out = randn(out.sizes(), dtype, device);
  std::vector<at::Tensor> wrt = {in.input, in.weight};
  if (in.bias) wrt.push_back(*in.bias);
  const auto grads = torch::autograd::grad({out}, wrt, {grad_out});

  const ConvInputs ref = f64_leaves(in, /*requires_grad=*/true);
  std::vector<at::Tensor> ref_wrt = {ref.input, ref.weight};
  if (ref.bias) ref_wrt.push_back(*ref.bias);
  const auto ref_grads = torch::autograd::grad({run_aten(conv, ref)}, ref_wrt, {f64_leaf(grad_out)});
  ASSERT_EQ(grads.size(), ref_grads.size());
  for (size_t i = 0; i < grads.size(); ++i) {
    EXPECT_EQ(grads[i].scalar_type(), dtype);
    EXPECT_TRUE(matches_reference(grads[i], ref_grads[i], dtype)) << "gradient of argument " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Conv, ConvTranspose1d,
                         ::testing::Combine(::testing::ValuesIn(kDevices), ::testing::Values(at::kFloat, at::kDouble),
                                            ::testing::ValuesIn(kConvs)),
                         param_name<ConvTranspose1d::ParamType>);

// -- empty batch, partial backward, TF32, double backward ---------------------------------------------------

class ConvTranspose1dDevice : public DeviceTest<std::tuple<c10::DeviceType, at::ScalarType>> {};

TEST_P(ConvTranspose1dDevice, EmptyBatchGivesEmptyResult) {
  const auto& [device, dtype] = GetParam();
  const Conv conv{"EmptyBatch", 0, 4, 6, 9, 3, 2, 1, 1, 2, 1, true};
  const ConvInputs in = make_inputs(conv, dtype, device, /*requires_grad=*/true);
  const at::Tensor out = run_fusedops(conv, in);
  EXPECT_EQ(out.sizes(), at::IntArrayRef({0, 6, 18}));
  // Nothing flowed into the weight and bias: their gradients are zeros.
  out.sum().backward();
  EXPECT_TRUE(matches_reference(in.weight.grad(), torch::zeros_like(in.weight), dtype));
  EXPECT_TRUE(matches_reference(in.bias->grad(), torch::zeros_like(*in.bias), dtype));
}

// Only the arguments that require grad get a gradient (the backward's output_mask).
TEST_P(ConvTranspose1dDevice, BackwardOnlyWhereRequired) {
  const auto& [device, dtype] = GetParam();
  const Conv conv{"WeightOnly", 2, 4, 6, 9, 3, 2, 1, 1, 2, 1, true};
  const ConvInputs in = make_inputs(conv, dtype, device);
  in.weight.requires_grad_(true);
  run_fusedops(conv, in).sum().backward();

  const ConvInputs ref = f64_leaves(in);
  ref.weight.requires_grad_(true);
  run_aten(conv, ref).sum().backward();
  EXPECT_FALSE(in.input.grad().defined());
  EXPECT_FALSE(in.bias->grad().defined());
  EXPECT_TRUE(matches_reference(in.weight.grad(), ref.weight.grad(), dtype));
}

// Float32 on CUDA in PyTorch's default precision: TF32 products keep 10 mantissa bits, as float16 does.
TEST_P(ConvTranspose1dDevice, Tf32WhenAllowed) {
  const auto& [device, dtype] = GetParam();
  const ConvInputs in = make_inputs(kManyChannels, dtype, device);
  at::globalContext().setAllowTF32CuDNN(true);  // the fixture's NoTF32 restores the setting
  const at::Tensor expected = run_aten(kManyChannels, f64_leaves(in));
  EXPECT_TRUE(matches_reference(run_fusedops(kManyChannels, in), expected, at::kHalf));
}

TEST_P(ConvTranspose1dDevice, DoubleBackwardIsRefused) {
  const auto& [device, dtype] = GetParam();
  const Conv conv{"DoubleBackward", 2, 4, 3, 9, 3, 2, 1, 1, 1, 1, true};
  const ConvInputs in = make_inputs(conv, dtype, device, /*requires_grad=*/true);
  const at::Tensor out = run_fusedops(conv, in);
  const auto grads = torch::autograd::grad({out}, {in.input, in.weight}, {randn(out.sizes(), dtype, device)},
                                           /*retain_graph=*/true, /*create_graph=*/true);
  EXPECT_TRUE(throws_error([&] { torch::autograd::grad({grads[0].sum()}, {in.weight}); },
                           {"fusedops::conv_transpose1d_backward", "double backward"}));
  EXPECT_TRUE(throws_error([&] { (grads[0].sum() + grads[1].sum()).backward(); }, {"double backward"}));
}

INSTANTIATE_TEST_SUITE_P(Conv, ConvTranspose1dDevice,
                         ::testing::Combine(::testing::ValuesIn(kDevices), ::testing::Values(at::kFloat, at::kDouble)),
                         param_name<ConvTranspose1dDevice::ParamType>);

// -- argument errors: each names the argument at fault ------------------------------------------------------

class ConvTranspose1dErrors : public ::testing::Test {
 protected:
  at::Tensor input = torch::rand({2, 4, 9}), weight = torch::rand({4, 3, 3});

  at::Tensor call(const at::Tensor& x, const at::Tensor& w, const std::optional<at::Tensor>& b = std::nullopt,
                  int64_t stride = 1, int64_t padding = 0, int64_t output_padding = 0, int64_t groups = 1,
                  int64_t dilation = 1) {
    return fusedops::conv_transpose1d(x, w, b, stride, padding, output_padding, groups, dilation);
  }
};

TEST_F(ConvTranspose1dErrors, GroupsNotDividingChannels) {
  EXPECT_TRUE(throws_error([&] { call(input, weight, std::nullopt, 1, 0, 0, 3); }, {"groups", "divisible"}));
}

TEST_F(ConvTranspose1dErrors, WrongRank) {
  EXPECT_TRUE(throws_error([&] { call(input[0], weight); }, {"input must be 3-D"}));
  EXPECT_TRUE(throws_error([&] { call(input, weight[0]); }, {"weight must be 3-D"}));
  EXPECT_TRUE(throws_error([&] { call(input, weight, torch::rand({3, 1})); }, {"bias must be 1-D"}));
}

TEST_F(ConvTranspose1dErrors, MismatchedDtype) {
  EXPECT_TRUE(throws_error([&] { call(input, weight.to(torch::kDouble)); }, {"weight has dtype", "input"}));
  EXPECT_TRUE(throws_error([&] { call(input, weight, torch::rand({3}, torch::kDouble)); }, {"bias has dtype"}));
  EXPECT_TRUE(throws_error([&] { call(input.to(torch::kInt), weight.to(torch::kInt)); }, {"input must be float"}));
}

TEST_F(ConvTranspose1dErrors, MismatchedShapes) {
  EXPECT_TRUE(throws_error([&] { call(input, torch::rand({5, 3, 3})); }, {"weight.size(0)"}));
  EXPECT_TRUE(throws_error([&] { call(input, weight, torch::rand({4})); }, {"bias must have C_out = 3"}));
}

TEST_F(ConvTranspose1dErrors, BadHyperParameters) {
  EXPECT_TRUE(throws_error([&] { call(input, weight, std::nullopt, 0); }, {"stride"}));
  EXPECT_TRUE(throws_error([&] { call(input, weight, std::nullopt, 1, -1); }, {"padding"}));
  EXPECT_TRUE(throws_error([&] { call(input, weight, std::nullopt, 2, 0, 2); }, {"output_padding"}));
  EXPECT_TRUE(throws_error([&] { call(input, weight, std::nullopt, 1, 0, 0, 1, 0); }, {"dilation"}));
  EXPECT_TRUE(throws_error([&] { call(input, weight, std::nullopt, 1, 20); }, {"output length"}));
}

TEST_F(ConvTranspose1dErrors, TensorsOnDifferentDevices) {
  if (const std::string why = unavailable(c10::kCUDA); !why.empty()) GTEST_SKIP() << why;
  EXPECT_TRUE(throws_error([&] { call(input, weight.cuda()); }, {"weight is on", "same device"}));
}

}  // namespace
}  // namespace fusedops_test
