// conv2d, conv_transpose2d, group_norm and the fused L2_11 / L2_19 / L2_21 chains through the C++ API (the dispatcher): forward
// and autograd against ATen's composition in float64, double backward refused, argument errors.
#include <fusedops/fusedops.h>

#include "test_utils.h"

namespace fusedops_test {
namespace {

// One call of every operator, over the same random arguments; `aten` computes the same with ATen.
struct Case {
  const char* name;
  // Builds the arguments on (device, dtype); the call sees them in this order.
  std::function<std::vector<at::Tensor>(at::ScalarType, c10::DeviceType, bool)> make;
  std::function<at::Tensor(const std::vector<at::Tensor>&)> fusedops_call, aten_call;
};
std::string name_of(const Case& c) { return c.name; }

std::vector<at::Tensor> tensors(std::initializer_list<std::vector<int64_t>> shapes, at::ScalarType dtype,
                                c10::DeviceType device, bool requires_grad) {
  std::vector<at::Tensor> out;
  for (const auto& s : shapes) out.push_back(randn(s, dtype, device, requires_grad));
  return out;
}

const Case kCases[] = {
    {"Conv2dStridedDilatedGrouped",
     [](auto dt, auto dev, bool rg) {
       return tensors({{2, 4, 11, 9}, {6, 2, 3, 2}, {6}}, dt, dev, rg);
     },
     [](const auto& a) {
       return fusedops::conv2d(a[0], a[1], a[2], {2, 1}, {1, 2}, {1, 2}, 2);
     },
     [](const auto& a) {
       return at::conv2d(a[0], a[1], a[2], {2, 1}, {1, 2}, {1, 2}, 2);
     }},
    {"Conv2dWide",  // several output-channel tiles of the CUDA kernel
     [](auto dt, auto dev, bool rg) {
       return tensors({{2, 16, 13, 12}, {20, 16, 3, 3}, {20}}, dt, dev, rg);
     },
     [](const auto& a) {
       return fusedops::conv2d(a[0], a[1], a[2], {1, 1}, {1, 1}, {1, 1}, 1);
     },
     [](const auto& a) {
       return at::conv2d(a[0], a[1], a[2], {1, 1}, {1, 1}, {1, 1}, 1);
     }},
    {"ConvTranspose2dEverything",
     [](auto dt, auto dev, bool rg) {
       return tensors({{2, 4, 7, 5}, {4, 3, 3, 2}, {6}}, dt, dev, rg);
     },
     [](const auto& a) {
       return fusedops::conv_transpose2d(a[0], a[1], a[2], {2, 3}, {1, 0}, {1, 2}, 2, {1, 3});
     },
     [](const auto& a) {
       return at::conv_transpose2d(a[0], a[1], a[2], {2, 3}, {1, 0}, {1, 2}, 2, {1, 3});
     }},
    {"GroupNorm5d",
     [](auto dt, auto dev, bool rg) {
       return tensors({{3, 6, 4, 3, 5}, {6}, {6}}, dt, dev, rg);
     },
     [](const auto& a) { return fusedops::group_norm(a[0], 3, a[1], a[2], 1e-5); },
     [](const auto& a) { return at::group_norm(a[0], 3, a[1], a[2], 1e-5); }},
    {"Conv2dAddScaleSigmoidGroupNorm",
     [](auto dt, auto dev, bool rg) {
       return tensors({{2, 3, 9, 11}, {8, 3, 3, 3}, {8}, {8, 1, 1}, {8, 1, 1}, {8}, {8}}, dt, dev, rg);
     },
     [](const auto& a) {
       return fusedops::conv2d_add_scale_sigmoid_group_norm(a[0], a[1], a[2], a[3], a[4], 4, a[5], a[6]);
     },
     [](const auto& a) {
       return at::group_norm(at::sigmoid((at::conv2d(a[0], a[1], a[2]) + a[3]) * a[4]), 4, a[5], a[6], 1e-5);
     }},
    {"ConvTranspose2dGeluGroupNorm",
     [](auto dt, auto dev, bool rg) {
       return tensors({{2, 4, 6, 7}, {4, 4, 3, 3}, {8}, {8}, {8}}, dt, dev, rg);
     },
     [](const auto& a) {
       return fusedops::conv_transpose2d_gelu_group_norm(a[0], a[1], a[2], 2, a[3], a[4], 1e-5, "none", {2, 2}, {1, 1},
                                                         {1, 1}, 2, {1, 1});
     },
     [](const auto& a) {
       return at::group_norm(at::gelu(at::conv_transpose2d(a[0], a[1], a[2], {2, 2}, {1, 1}, {1, 1}, 2)), 2, a[3], a[4],
                             1e-5);
     }},
    {"ConvTranspose2dBatchNormTanhMaxPoolGroupNorm",  // training mode: no conv bias, BatchNorm cancels its gradient
     [](auto dt, auto dev, bool rg) {
       return tensors({{2, 4, 6, 7}, {4, 6, 3, 3}, {6}, {6}, {6}, {6}}, dt, dev, rg);
     },
     [](const auto& a) {
       return fusedops::conv_transpose2d_batch_norm_tanh_max_pool_group_norm(
           a[0], a[1], std::nullopt, a[2], a[3], std::nullopt, std::nullopt, true, 0.1, 1e-5, {2, 2}, {2, 2}, 3, a[4],
           a[5], 1e-5, {1, 1}, {1, 0});
     },
     [](const auto& a) {
       const at::Tensor c = at::conv_transpose2d(a[0], a[1], {}, {1, 1}, {1, 0});
       const at::Tensor z = at::batch_norm(c, a[2], a[3], {}, {}, true, 0.1, 1e-5, false);
       return at::group_norm(at::max_pool2d(at::tanh(z), {2, 2}, {2, 2}), 3, a[4], a[5], 1e-5);
     }},
};

class Ops2d : public DeviceTest<std::tuple<c10::DeviceType, at::ScalarType, Case>> {};

TEST_P(Ops2d, ForwardAndGradientsMatchAten) {
  const auto& [device, dtype, c] = GetParam();
  const std::vector<at::Tensor> args = c.make(dtype, device, /*requires_grad=*/true);
  const at::Tensor out = c.fusedops_call(args);
  EXPECT_EQ(out.scalar_type(), dtype);
  EXPECT_EQ(out.device().type(), device);
  std::vector<at::Tensor> ref_args;
  for (const at::Tensor& a : args) ref_args.push_back(f64_leaf(a, /*requires_grad=*/true));
  const at::Tensor ref = c.aten_call(ref_args);
  EXPECT_TRUE(matches_reference(out, ref, dtype));

  const at::Tensor grad_out = randn(out.sizes(), dtype, device);
  const auto grads = torch::autograd::grad({out}, args, {grad_out});
  const auto ref_grads = torch::autograd::grad({ref}, ref_args, {f64_leaf(grad_out)});
  for (size_t i = 0; i < grads.size(); ++i) {
    // Gradients through GroupNorm cancel (group means subtracted): float32 is held to 10x its tolerance.
    const bool through_norm = std::string(c.name).find("GroupNorm") != std::string::npos;
    const at::ScalarType held_to = through_norm && dtype == at::kFloat ? at::kHalf : dtype;
    EXPECT_TRUE(matches_reference(grads[i], ref_grads[i], held_to)) << "gradient of argument " << i;
  }
}

TEST_P(Ops2d, DoubleBackwardIsRefused) {
  const auto& [device, dtype, c] = GetParam();
  const std::vector<at::Tensor> args = c.make(dtype, device, /*requires_grad=*/true);
  const at::Tensor out = c.fusedops_call(args);
  const auto grads = torch::autograd::grad({out}, args, {randn(out.sizes(), dtype, device)}, /*retain_graph=*/true,
                                           /*create_graph=*/true);
  EXPECT_TRUE(throws_error([&] { torch::autograd::grad({grads[0].sum()}, {args[1]}); }, {"double backward"}));
}

INSTANTIATE_TEST_SUITE_P(Ops, Ops2d,
                         ::testing::Combine(::testing::ValuesIn(kDevices), ::testing::Values(at::kFloat, at::kDouble),
                                            ::testing::ValuesIn(kCases)),
                         param_name<Ops2d::ParamType>);

TEST(Ops2dErrors, EachNamesTheArgument) {
  const at::Tensor x = torch::rand({2, 4, 9, 9}), w = torch::rand({6, 4, 3, 3});
  EXPECT_TRUE(
      throws_error([&] { fusedops::conv2d(x[0], w, std::nullopt); }, {"fusedops::conv2d", "input must be 4-D"}));
  EXPECT_TRUE(throws_error(
      [&] {
        fusedops::conv2d(x, w, std::nullopt, {1, 1}, {0, 0}, {1, 1}, 3);
      },
      {"divisible by groups"}));
  EXPECT_TRUE(throws_error([&] { fusedops::conv2d(x, w, std::nullopt, {0, 1}); }, {"stride must be >= 1"}));
  EXPECT_TRUE(throws_error([&] { fusedops::conv2d(x, torch::rand({6, 4, 12, 3}), std::nullopt); }, {"output size"}));
  EXPECT_TRUE(throws_error([&] { fusedops::conv_transpose2d(x, w, std::nullopt); }, {"weight.size(0)"}));
  EXPECT_TRUE(throws_error([&] { fusedops::group_norm(x, 3); }, {"divisible by num_groups"}));
  EXPECT_TRUE(throws_error([&] { fusedops::group_norm(x, 2, torch::rand({3})); }, {"GroupNorm weight", "(C) = (4)"}));
  EXPECT_TRUE(throws_error(
      [&] {
        fusedops::conv2d_add_scale_sigmoid_group_norm(x, w, std::nullopt, torch::rand({6}), torch::rand({6, 1, 1}), 2,
                                                      std::nullopt, std::nullopt);
      },
      {"conv2d_add_scale_sigmoid_group_norm", "bias must broadcast per channel"}));
  EXPECT_TRUE(throws_error(
      [&] {
        fusedops::conv_transpose2d_gelu_group_norm(x, torch::rand({4, 2, 3, 3}), std::nullopt, 2, std::nullopt,
                                                   std::nullopt, 1e-5, "fast");
      },
      {"approximate must be 'none' or 'tanh'"}));
  EXPECT_TRUE(throws_error(
      [&] {
        fusedops::conv_transpose2d_batch_norm_tanh_max_pool_group_norm(
            x, torch::rand({4, 2, 3, 3}), std::nullopt, std::nullopt, std::nullopt, torch::zeros({3}), torch::ones({2}),
            true);
      },
      {"conv_transpose2d_batch_norm_tanh_max_pool_group_norm", "running_mean must have shape (C) = (2)"}));
}

// In training mode the running statistics move toward the batch's in place (the unbiased variance), as at::batch_norm.
class BatchNormRunningStatistics : public DeviceTest<std::tuple<c10::DeviceType>> {};

TEST_P(BatchNormRunningStatistics, AreUpdatedInPlace) {
  const c10::DeviceType device = this->device();
  const at::Tensor x = randn({3, 4, 5, 6}, at::kDouble, device), w = randn({4, 5, 2, 2}, at::kDouble, device);
  at::Tensor mean = randn({5}, at::kDouble, device), var = randn({5}, at::kDouble, device).abs() + 0.5;
  at::Tensor ref_mean = mean.clone(), ref_var = var.clone();
  fusedops::conv_transpose2d_batch_norm_tanh_max_pool_group_norm(x, w, std::nullopt, std::nullopt, std::nullopt, mean,
                                                                 var, true, 0.3);
  at::batch_norm(at::conv_transpose2d(x, w), {}, {}, ref_mean, ref_var, true, 0.3, 1e-5, false);
  EXPECT_TRUE(at::allclose(mean, ref_mean, 1e-12, 1e-12));
  EXPECT_TRUE(at::allclose(var, ref_var, 1e-12, 1e-12));
}

INSTANTIATE_TEST_SUITE_P(Ops, BatchNormRunningStatistics, ::testing::Combine(::testing::ValuesIn(kDevices)),
                         param_name<BatchNormRunningStatistics::ParamType>);

}  // namespace
}  // namespace fusedops_test
