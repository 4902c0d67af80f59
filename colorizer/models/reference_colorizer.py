"""The GAN that MMEngine's Runner trains: one discriminator step, then one generator step."""
import logging
from contextlib import contextmanager, nullcontext
from typing import Dict, List, Optional, Union

import torch
import torch.nn as nn
from mmengine.logging import MessageHub, print_log
from mmengine.model import BaseModel, is_model_wrapper
from mmengine.optim import OptimWrapper, OptimWrapperDict

from colorizer.invalid_argument import check_choice
from colorizer.postprocessing import RegionFill
from colorizer.registry import DISCRIMINATORS, GENERATORS, LOSSES, MODELS
from .correspondence_probe import probe_correspondence
from .correspondence_training import EncoderTokens
from .data_preprocessors.colorization_data_preprocessor import to_uint8

#: Batched inputs besides the images that the generator receives when present (region labels,
#: read by fusion modules that declare them, e.g. the oracle-map control).
LABEL_INPUTS = ('sketch_labels', 'reference_labels')


def label_inputs(inputs: dict) -> Dict[str, torch.Tensor]:
    """The region-label entries of a preprocessed ``inputs`` dict (possibly none)."""
    return {key: inputs[key] for key in LABEL_INPUTS if inputs.get(key) is not None}


class NonFiniteLossError(FloatingPointError):
    """A loss term became NaN or Inf; training stops before the bad update is applied."""


class NonFiniteInputError(FloatingPointError):
    """An input image of a training batch holds NaN or Inf: the data, not the model, is at
    fault."""


def _where() -> str:
    step = MessageHub.get_current_instance().get_info('iter')
    return f' at iteration {step + 1}' if step is not None else ''


def unwrap(module: nn.Module) -> nn.Module:
    """Return the module inside a (Separate)DistributedDataParallel wrapper, or the module."""
    return module.module if is_model_wrapper(module) else module


@contextmanager
def frozen(module: nn.Module):
    """Turn off ``requires_grad`` of a module's parameters for the duration of the block.

    The generator step back-propagates through the discriminator; freezing it keeps stale
    gradients out of the discriminator's next update and skips computing them at all.
    """
    flags = [p.requires_grad for p in module.parameters()]
    module.requires_grad_(False)
    try:
        yield module
    finally:
        for param, flag in zip(module.parameters(), flags):
            param.requires_grad_(flag)


@MODELS.register_module()
class ReferenceColorizer(BaseModel):
    """Reference-based line-art colourisation GAN (SCFT / SGA training scheme).

    Per iteration (SPADE-style trainer, paper §4.1):

    1. the generator colours the sketch once: ``fake = G(sketch, reference)``;
    2. :meth:`train_discriminator`: the GAN loss (least squares in the paper) on
       ``D(target, sketch)`` (real) and ``D(fake.detach(), sketch)`` (fake), then the
       discriminator's optimiser steps;
    3. :meth:`train_generator`: reconstruction L1, adversarial, perceptual and style losses on
       the same ``fake``, with the discriminator frozen, then the generator's optimiser steps.

    The authors' code runs the generator twice per iteration with identical weights; reusing the
    fake image gives the same losses for half the generator cost.

    Args:
        generator (dict): Config of a GENERATORS module.
        discriminator (dict): Config of a DISCRIMINATORS module.
        reconstruction_loss (dict): Config of the L1 reconstruction loss (LOSSES).
        adversarial_loss (dict): Config of the GAN loss (LOSSES), called as
            ``loss(pred, target_is_real, is_disc)``; its ``loss_weight`` weighs the generator's
            term only (``LSGANLoss``, ``HingeGANLoss``, ``NonSaturatingGANLoss``).
        perceptual_loss (dict, optional): Config of the VGG perceptual + style loss (LOSSES),
            called as ``loss(fake, real)`` and returning a dict of weighted terms.
        data_preprocessor (dict, optional): Defaults to ``ColorizationDataPreprocessor``.
        nan_policy (str): What a NaN / Inf loss or input does. ``'raise'`` stops training
            with the iteration and the loss term (or the input image) named, before the update.
            ``'skip'`` skips the update and counts it in the log as ``skipped_steps``; a skipped
            step leaves no trace in the model: the parameters and optimiser states are not
            touched, and the buffers (BatchNorm running statistics), which the training-mode
            forward has already changed, are restored. In this mode a step whose loss is finite
            but whose gradients are not is skipped too (without AMP: its loss scaler already
            skips those). The skipping is the optimiser wrappers' (``SkipNonFiniteOptimWrapper``,
            which ``GANOptimWrapperConstructor`` builds for such a model); a batch with a
            non-finite input image is skipped here, before any forward.
        compile_generator (bool | dict): ``torch.compile`` the generator in place (its
            parameter names, hence checkpoints, stay as they are); a dict gives the
            ``torch.compile`` options. The whole-``train_step`` compilation of MMEngine's
            top-level ``compile`` key also traces the optimiser steps and the loss checks.
        correspondence_loss (dict, optional): Config of a loss on the encoder tokens (LOSSES,
            e.g. ``RegionInfoNCELoss``), added to the generator's losses as
            ``loss_corr``: the fusion module's inputs are captured during the training
            forward (:class:`~.correspondence_training.EncoderTokens`), so it trains the
            encoders whatever the map does with them (also under stop-gradient).
        region_fill (dict, optional): :class:`~colorizer.postprocessing.RegionFill` arguments;
            when given, ``val_step`` / ``test_step`` (``mode='predict'``) fill every closed
            region of the sketch with one colour (the training forward is unchanged).
        correspondence_outputs (bool): ``val_step`` / ``test_step`` also attach the cross
            map (``cross_attention``), the map with the sketch's own colour image as reference
            (``diagonal_attention``) and the reference tokens' norms to every data sample, for
            ``CorrespondenceMetric``; costs two more generator forwards per batch.
        init_cfg (dict, optional): MMEngine weight initialisation config.

    With ``data_preprocessor.channels_last=True`` the model converts its own weights to
    ``torch.channels_last`` as well, so the convolutions see one memory format throughout.
    """

    def __init__(self,
                 generator: dict,
                 discriminator: dict,
                 reconstruction_loss: dict,
                 adversarial_loss: dict,
                 perceptual_loss: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 nan_policy: str = 'raise',
                 compile_generator: Union[bool, dict] = False,
                 correspondence_outputs: bool = False,
                 correspondence_loss: Optional[dict] = None,
                 region_fill: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='ColorizationDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            # Built from colorizer's registry, so the model builds outside a Runner's scope too.
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        check_choice('nan_policy', nan_policy, ('raise', 'skip'), 'ReferenceColorizer')
        self.generator = GENERATORS.build(generator)
        self.discriminator = DISCRIMINATORS.build(discriminator)
        self.reconstruction_loss = LOSSES.build(reconstruction_loss)
        self.adversarial_loss = LOSSES.build(adversarial_loss)
        self.perceptual_loss = LOSSES.build(perceptual_loss) if perceptual_loss else None
        self.nan_policy = nan_policy
        self.correspondence_outputs = correspondence_outputs
        self.correspondence_loss = (LOSSES.build(correspondence_loss)
                                    if correspondence_loss else None)
        self.region_fill = None
        if region_fill is not None:
            self.region_fill = RegionFill(**region_fill)
        self.skipped_steps = 0
        if getattr(self.data_preprocessor, 'channels_last', False):
            # channels_last batches meeting contiguous weights would be converted back and
            # forth inside every convolution
            self.to(memory_format=torch.channels_last)
        if compile_generator:
            options = compile_generator if isinstance(compile_generator, dict) else {}
            self.generator.compile(**options)

    # ------------------------------------------------------------------ training
    def train_step(self, data: dict, optim_wrapper: OptimWrapperDict) -> Dict[str, torch.Tensor]:
        """One discriminator update, then one generator update, from one generator forward.

        Args:
            data (dict): A collated batch from the dataloader.
            optim_wrapper (OptimWrapperDict): Wrappers under the keys ``generator`` and
                ``discriminator``; with ``nan_policy='skip'``, wrappers that skip non-finite
                steps (``GANOptimWrapperConstructor`` builds them for such a model).

        Returns:
            dict[str, Tensor]: Detached loss terms for the logger.
        """
        g_wrapper, d_wrapper = optim_wrapper['generator'], optim_wrapper['discriminator']
        self._check_wrappers(g_wrapper, d_wrapper)
        data = self.data_preprocessor(data, True)
        inputs = data['inputs']
        sketch, reference, target = inputs['sketch'], inputs['reference'], inputs['target']
        log_vars = {}
        if not self._check_inputs(inputs, data.get('data_samples')):
            # a correspondence loss reads the fusion module's inputs of this very forward
            tokens = (EncoderTokens(unwrap(self.generator))
                      if self.correspondence_loss is not None else nullcontext())
            extra = {}
            with g_wrapper.optim_context(self.generator), tokens:
                fake = self.generator(sketch, reference, **label_inputs(inputs))  # (B, 3, H, W)
                if self.correspondence_loss is not None:
                    extra['loss_corr'] = tokens.loss(self.correspondence_loss, inputs)
            log_vars = self.train_discriminator(sketch, target, fake.detach(), d_wrapper)
            log_vars.update(self.train_generator(sketch, target, fake, g_wrapper, extra))
        if self.nan_policy == 'skip':
            log_vars['skipped_steps'] = torch.tensor(float(self.skipped_steps))
        return log_vars

    def _check_wrappers(self, *wrappers: OptimWrapper) -> None:
        if self.nan_policy == 'skip' and not all(
                getattr(w, 'skips_non_finite', False) for w in wrappers):
            raise TypeError(
                "nan_policy='skip' needs optimiser wrappers that skip non-finite steps; got "
                f'{[type(w).__name__ for w in wrappers]}. Build them with '
                "optim_wrapper=dict(constructor='GANOptimWrapperConstructor', ...) (it does so "
                "for this model) or give them type='SkipNonFiniteOptimWrapper'")

    def _check_inputs(self, inputs: Dict[str, torch.Tensor], data_samples) -> bool:
        """Name the images of a batch that hold NaN or Inf: raise, or (``nan_policy='skip'``)
        log them and return ``True`` (skip the whole step, before any forward)."""
        bad = []
        for key, batch in inputs.items():
            finite = torch.isfinite(batch).flatten(1).all(dim=1)
            for i in torch.nonzero(~finite).flatten().tolist():
                meta = data_samples[i].metainfo if data_samples else {}
                source = meta.get('sketch_path') or meta.get('img_path')
                name = f"sample {meta.get('index', i)}" + (f" ('{source}')" if source else '')
                bad.append(f'{key} of {name}')
        if not bad:
            return False
        message = (f'non-finite input{_where()}: {", ".join(bad)} hold NaN or Inf (the images '
                   'are at fault, not the model)')
        if self.nan_policy == 'raise':
            raise NonFiniteInputError(f'{message}. Check the dataset; '
                                      "model.nan_policy='skip' skips such batches")
        self.skipped_steps += 1
        print_log(f'{message}; the step is skipped', logger='current', level=logging.WARNING)
        return True

    def train_discriminator(self, sketch: torch.Tensor, target: torch.Tensor,
                            fake: torch.Tensor,
                            optim_wrapper: OptimWrapper) -> Dict[str, torch.Tensor]:
        """GAN step of the discriminator on (real target, detached fake)."""
        with optim_wrapper.optim_context(self.discriminator):
            losses = dict(
                loss_d_real=self.adversarial_loss(self.discriminator(target, sketch), True, True),
                loss_d_fake=self.adversarial_loss(self.discriminator(fake, sketch), False, True))
        return self._update(losses, optim_wrapper)

    def train_generator(self, sketch: torch.Tensor, target: torch.Tensor, fake: torch.Tensor,
                        optim_wrapper: OptimWrapper,
                        extra_losses: Optional[Dict[str, torch.Tensor]] = None
                        ) -> Dict[str, torch.Tensor]:
        """Reconstruction, adversarial, perceptual and style step of the generator.

        ``extra_losses``: further weighted terms of the same graph (the correspondence loss).
        """
        # The frozen, unwrapped discriminator: its DDP wrapper would expect gradients to reduce.
        # Its forward is part of this step: in the step's optim_context, so that a skipping
        # wrapper also puts back the buffers this forward changes.
        discriminator = unwrap(self.discriminator)
        with optim_wrapper.optim_context(self.generator), \
                optim_wrapper.optim_context(discriminator), frozen(discriminator):
            losses = self.generator_losses(sketch, target, fake, discriminator)
            losses.update(extra_losses or {})
        return self._update(losses, optim_wrapper)

    def generator_losses(self, sketch: torch.Tensor, target: torch.Tensor, fake: torch.Tensor,
                         discriminator: Optional[nn.Module] = None) -> Dict[str, torch.Tensor]:
        """All weighted loss terms of the generator, each a scalar tensor.

        Kept separate from the update so analysis tools can back-propagate one term at a time.
        """
        discriminator = discriminator if discriminator is not None else self.discriminator
        losses = dict(
            loss_rec=self.reconstruction_loss(fake, target),
            loss_g_adv=self.adversarial_loss(discriminator(fake, sketch), True, False))
        if self.perceptual_loss is not None:
            losses.update(self.perceptual_loss(fake, target))
        return losses

    def _update(self, losses: Dict[str, torch.Tensor],
                optim_wrapper: OptimWrapper) -> Dict[str, torch.Tensor]:
        """Back-propagate the summed losses and step; a non-finite loss raises (``'raise'``)
        or the wrapper skips the step (``'skip'``, see ``SkipNonFiniteOptimWrapper``).

        Raises:
            NonFiniteLossError: A loss term is NaN or Inf and ``nan_policy='raise'``.
        """
        if self.nan_policy == 'skip':
            if not optim_wrapper.update_params(losses):
                self.skipped_steps += 1
        else:
            bad = [name for name, value in losses.items() if not torch.isfinite(value).all()]
            if bad:
                values = ', '.join(f'{name}={losses[name].item()}' for name in bad)
                raise NonFiniteLossError(
                    f'non-finite loss{_where()}: {values}. The last saved checkpoint is '
                    "intact; set model.nan_policy='skip' to skip such steps instead")
            optim_wrapper.update_params(sum(losses.values()))
        return {name: value.detach() for name, value in losses.items()}

    # ------------------------------------------------------------------ inference
    def forward(self, inputs: dict, data_samples: Optional[List] = None, mode: str = 'tensor'):
        """MMEngine's forward contract.

        Args:
            inputs (dict): Preprocessed ``sketch`` and ``reference`` (and ``target`` for
                ``mode='loss'``) batches in [-1, 1].
            data_samples (list, optional): The batch's data samples.
            mode (str): ``'tensor'``: the colourisation batch in [-1, 1];
                ``'predict'``: the data samples with ``output`` (uint8) set;
                ``'loss'``: the generator's loss terms (no update).

        Returns:
            Tensor, list or dict, by mode.
        """
        fake = self.generator(inputs['sketch'], inputs['reference'], **label_inputs(inputs))
        if mode == 'loss':
            return self.generator_losses(inputs['sketch'], inputs['target'], fake)
        if mode == 'tensor':
            return fake
        if mode == 'predict':
            data_samples = self._attach_outputs(fake, data_samples)
            if self.region_fill is not None:
                self._fill_regions(inputs['sketch'], data_samples)
            if self.correspondence_outputs:
                self._attach_correspondence(inputs, data_samples)
            return data_samples
        raise ValueError(f"mode must be 'tensor', 'predict' or 'loss', got {mode!r}")

    @staticmethod
    def _attach_outputs(fake: torch.Tensor, data_samples: Optional[List]) -> List:
        outputs = to_uint8(fake).cpu()
        if data_samples is None:
            from colorizer.structures import ColorizationDataSample
            data_samples = [ColorizationDataSample() for _ in range(len(outputs))]
        for sample, output in zip(data_samples, outputs):
            sample.output = output
        return data_samples

    def _fill_regions(self, sketch: torch.Tensor, data_samples: List) -> None:
        """Replace every sample's ``output`` by its region fill along the sketch's lines."""
        lines = to_uint8(sketch).cpu().numpy()[:, 0]  # (B, H, W)
        for sample, line_art in zip(data_samples, lines):
            output = sample.output.permute(1, 2, 0).numpy()
            filled = self.region_fill(output, line_art)
            sample.output = torch.from_numpy(filled).permute(2, 0, 1).contiguous()

    def _attach_correspondence(self, inputs: dict, data_samples: List) -> None:
        """Set ``cross_attention``, ``reference_token_norm`` and, when the batch has a target,
        ``diagonal_attention`` (float32, CPU) on every sample."""
        probe = probe_correspondence(unwrap(self.generator), inputs['sketch'],
                                     inputs['reference'], inputs.get('target'),
                                     **label_inputs(inputs))
        for i, sample in enumerate(data_samples):
            for key, value in probe.items():
                sample.set_field(value[i].cpu(), key)

    def val_step(self, data: dict) -> List:
        """Colourise a batch; returns its data samples with ``output`` (uint8, 3×H×W) set."""
        data = self.data_preprocessor(data, False)
        return self(data['inputs'], data['data_samples'], mode='predict')

    def test_step(self, data: dict) -> List:
        """Same as :meth:`val_step`."""
        return self.val_step(data)
