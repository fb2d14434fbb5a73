"""The shape trace: what a network does to a batch of (N, 1, 28, 28) images, layer by layer.

The shapes come from PyTorch itself: forward hooks on the network's leaf modules record what
each one received and gave back while a real tiny batch goes through. When a layer crashes,
the trace stops there and says what that layer expected, and the ways out. The arithmetic
beside a changed size (28 - 3 + 1 = 26) only explains what PyTorch measured; where a way out is
proposed (padding), it is tried on a copy of the network before it is offered.
"""

import copy
import math
from dataclasses import dataclass, field

import torch
from torch import nn

BATCH = 2  # images in the traced batch: more than one, so a flatten of the batch shows


@dataclass
class Layer:
    name: str  # its path in the model, e.g. layers.3
    module: nn.Module
    given: tuple | None = None  # the shape it received
    gave: tuple | None = None  # the shape it returned; None when it crashed

    def describe(self) -> str:
        return f"{self.name}: {short(self.module)}" if self.name else short(self.module)

    def change(self) -> str:
        """The arithmetic behind a changed size, in words ("" when nothing worth saying)."""
        given, gave, module = self.given, self.gave, self.module
        if given is not None and gave is None:  # it crashed: what did it want?
            if isinstance(module, nn.Linear):
                return f"expects {module.in_features} features, gets {given[-1]}"
            if isinstance(module, nn.Conv2d) and len(given) == 4:
                return f"expects {module.in_channels} channels, gets {given[1]}"
            return ""
        if given is None or gave is None or given == gave:
            return ""
        if isinstance(module, nn.Conv2d) and len(given) == 4 and len(gave) == 4:
            kernel, padding = module.kernel_size[0], module.padding
            padding = padding[0] if isinstance(padding, tuple) else padding
            size, out = given[2], gave[2]
            if size == out:
                return f"{size} x {size} kept (padding {padding})"
            if padding == 0 and module.stride[0] == 1:
                return f"{size} - {kernel - 1} = {out} ({kernel}x{kernel}, no padding)"
            stride = module.stride[0]
            return f"{size} -> {out} (kernel {kernel}, padding {padding}, stride {stride})"
        if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)) and len(given) == 4:
            size = module.kernel_size
            size = size if isinstance(size, int) else size[0]
            rounding = ", rounded down" if given[2] % size else ""
            return f"{given[2]} / {size} = {gave[2]}{rounding}"
        if isinstance(module, nn.Flatten) and len(gave) < len(given):
            kept = gave[0] if len(gave) > 1 else None
            folded = given[1:] if kept == given[0] else given
            product = " x ".join(str(size) for size in folded)
            return (f"{product} = {math.prod(folded)}"
                    + ("" if kept == given[0] else ": the batch was folded in too"))
        if isinstance(module, nn.Linear):
            return f"{given[-1]} -> {gave[-1]}"
        return ""


def short(module: nn.Module) -> str:
    """A layer as one would write it: Conv2d(1, 32, 5, stride=2, padding=2), MaxPool2d(2),
    Linear(1568, 128)."""
    if isinstance(module, nn.Conv2d):
        padding = module.padding if isinstance(module.padding, str) else module.padding[0]
        extra = f", stride={module.stride[0]}" if module.stride[0] != 1 else ""
        extra += f", padding={padding!r}" if padding not in (0, "valid") else ""
        return (f"Conv2d({module.in_channels}, {module.out_channels}, "
                f"{module.kernel_size[0]}{extra})")
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        size = module.kernel_size
        return f"{type(module).__name__}({size if isinstance(size, int) else size[0]})"
    if isinstance(module, nn.Linear):
        return f"Linear({module.in_features}, {module.out_features})"
    if isinstance(module, nn.Flatten):
        return "Flatten()" if module.start_dim == 1 else f"Flatten({module.start_dim})"
    return f"{type(module).__name__}()"


def with_n(shape: tuple | None, batch: int) -> str:
    """(N, 16, 26, 26) for a shape whose first size is the batch's."""
    if shape is None:
        return "CRASHED"
    sizes = ["N" if index == 0 and size == batch else str(size)
             for index, size in enumerate(shape)]
    return f"({', '.join(sizes)}{',' if len(sizes) == 1 else ''})"


@dataclass
class Trace:
    batch: tuple
    layers: list[Layer] = field(default_factory=list)
    output: tuple | None = None
    error: str = ""  # the crash, when there was one
    ways_out: list[str] = field(default_factory=list)

    @property
    def broken(self) -> Layer | None:
        """The layer that crashed: it received a batch and gave nothing back."""
        return next((layer for layer in self.layers if layer.gave is None), None)

    @property
    def ok(self) -> bool:
        return not self.error and self.output == (self.batch[0], 10)

    def rows(self) -> list[tuple[str, str, str]]:
        """(layer, shape out, what changed), from the input to the output or the break."""
        rows = [("input", with_n(self.batch, self.batch[0]), "")]
        for layer in self.layers:
            if layer.given is None:
                continue  # never reached
            shape = with_n(layer.gave, self.batch[0])
            rows.append((layer.describe(), shape, layer.change()))
            if layer.gave is None:
                break
        return rows

    def lines(self) -> list[str]:
        rows = self.rows()
        width = min(48, max(len(row[0]) for row in rows))
        lines = [f"shape trace: N = {self.batch[0]} images (N, 1, 28, 28) through your network"]
        for name, shape, change in rows:
            lines.append(f"  {name[:width]:<{width}}  {shape:<16} {change}".rstrip())
        if self.broken:
            lines.append(f"  {self.error}")
            lines += [f"  way out: {way}" for way in self.ways_out]
        elif self.output and self.output != (self.batch[0], 10):
            lines.append(f"  the output is {with_n(self.output, self.batch[0])}; it should be "
                         "(N, 10): one row per image, one score per digit")
            lines += [f"  way out: {way}" for way in self.ways_out]
        return lines


def leaves(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(name, module) for name, module in model.named_modules()
            if not list(module.children())]


def trace(model: nn.Module, batch: int = BATCH) -> Trace:
    """Send `batch` random images (batch, 1, 28, 28) through the model in eval mode without
    gradients, recording each leaf module's input and output shapes."""
    shape = (batch, 1, 28, 28)
    result = Trace(shape)
    parameter = next(model.parameters(), None)
    images = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    if parameter is not None:
        images = images.to(parameter.device)
    handles = []
    for name, module in leaves(model):
        layer = Layer(name, module)
        result.layers.append(layer)
        handles.append(module.register_forward_pre_hook(
            lambda _, args, layer=layer: setattr(layer, "given", shape_of(args))))
        handles.append(module.register_forward_hook(
            lambda _, args, out, layer=layer: setattr(layer, "gave", shape_of((out,)))))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            result.output = shape_of((model(images),))
    except Exception as error:  # the learner's network: any crash is what we explain
        result.error = f"{type(error).__name__}: {str(error).strip().splitlines()[0]}"
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    # A layer that got a batch and gave none back crashed; layers never reached stay empty.
    if not result.error:
        for layer in result.layers:
            if layer.gave is None and layer.given is not None:
                layer.gave = layer.given
    result.ways_out = ways_out(model, result)
    return result


def shape_of(values) -> tuple | None:
    tensors = [value for value in values if isinstance(value, torch.Tensor)]
    return tuple(tensors[0].shape) if tensors else None


def ways_out(model: nn.Module, result: Trace) -> list[str]:
    """What to change, for the common breaks: a Linear that gets the wrong number of
    features, a Linear that gets an unflattened batch, a Conv2d with the wrong channels."""
    broken = result.broken
    if broken is None and result.output and result.output[1:] != (10,):
        last = next((layer for layer in reversed(result.layers)
                     if isinstance(layer.module, nn.Linear)), None)
        if len(result.output) == 2 and result.output[0] == result.batch[0] and last:
            return [f"the last Linear, {last.name}, gives {last.module.out_features} scores per "
                    f"image: write nn.Linear({last.module.in_features}, 10)"]
        return []
    if broken is None or broken.given is None:
        return []
    module, given = broken.module, broken.given
    if isinstance(module, nn.Linear) and len(given) > 2:
        return [f"{broken.name} received a {len(given)}-D batch {given}: an nn.Linear works on "
                f"the last dimension only ({given[-1]}); put nn.Flatten() before it "
                f"(then it receives {math.prod(given[1:])} features)"]
    if isinstance(module, nn.Linear) and given[-1] != module.in_features:
        ways = [f"{broken.name} is nn.Linear({module.in_features}, {module.out_features}) but "
                f"receives {given[-1]} features: write nn.Linear({given[-1]}, "
                f"{module.out_features})"]
        if padded_fits(model):
            ways.append("give each unpadded Conv2d padding=kernel_size // 2 (padding=1 for "
                        "3x3, 2 for 5x5), so it keeps the size (or, with stride=2, halves it "
                        f"exactly), and the Linear's {module.in_features} features fit as "
                        "written")
        return ways
    if isinstance(module, nn.Conv2d) and len(given) == 4 and given[1] != module.in_channels:
        return [f"{broken.name} is a Conv2d with in_channels={module.in_channels} but receives "
                f"{given[1]} channels (the out_channels of the layer before): write "
                f"nn.Conv2d({given[1]}, {module.out_channels}, ...)"]
    return []


def padded_fits(model: nn.Module) -> bool:
    """Whether the network works once every unpadded Conv2d is padded to keep its size
    (divided by its stride): tried on a copy, so the offer is PyTorch's answer, not ours."""
    padded, changed = copy.deepcopy(model), False
    for module in padded.modules():
        if isinstance(module, nn.Conv2d) and module.padding in (0, (0, 0)) and \
                module.kernel_size[0] > 1:
            module.padding = (module.kernel_size[0] // 2, module.kernel_size[1] // 2)
            changed = True
    return changed and trace_ok(padded)


def trace_ok(model: nn.Module) -> bool:
    parameter = next(model.parameters(), None)
    images = torch.zeros(BATCH, 1, 28, 28, device=None if parameter is None else parameter.device)
    try:
        model.eval()
        with torch.no_grad():
            return tuple(model(images).shape) == (BATCH, 10)
    except Exception:  # the learner's network
        return False
