"""Masked PPO over the same game and network: the comparison learner (no search).

Each iteration steps ``envs`` games side by side for ``max_length`` steps (about one
episode each), sampling from the network's policy with illegal actions masked out (logits
set to a large negative before the softmax, so they are never sampled and carry no
gradient), then runs ``epochs`` passes of clipped PPO updates with GAE advantages. Every
episode that ends solved offers its program to the run's hall of fame, as the search does.

Rewards are the game's plus the potential-based shaping of ``TrainConfig.shaping``. The
search's second potential (``bound_shaping``) is left out: with it, PPO collapsed onto one
unsolved sort3 program and found nothing in 5 minutes (without it, 18 in 20 s).

Randomness: actions are sampled with the Gumbel-max trick on noise from the run's numpy
generator, so a run repeats exactly with ``threads=1``.
"""

from __future__ import annotations

import numpy as np
import torch

from .config import TrainConfig
from .game import GameSpec
from .learner import LearnStats, RunView, episode_budget
from .model import Agent
from .network import masked_log_softmax

__all__ = ["PPOLearner"]


class PPOLearner:
    """Rollouts of the network's own policy, then clipped PPO updates."""

    def __init__(self, config: TrainConfig, spec: GameSpec, device: torch.device):
        self.config = config
        self.spec = spec
        self.agent = Agent(config, spec, device)
        self.budget = None
        self._make_envs(None)

    def _make_envs(self, budget) -> None:
        self.budget = budget
        self.envs = [self.spec.make(budget) for _ in range(self.config.ppo.envs)]
        self.obs = [env.reset(seed=0)[0] for env in self.envs]
        self.returns = np.zeros(len(self.envs))  # float64[E] running episode returns

    def warm_up(self) -> None:
        self.spec.warm_up()

    def state_dict(self) -> dict:
        # No replay buffer; the games in progress (their programs replay exactly) and their
        # running returns.
        return {"replay": None,
                "extra": {"ppo_programs": [env.program().text() for env in self.envs],
                          "ppo_moves": [env.moves() for env in self.envs],
                          "ppo_returns": self.returns.tolist(), "ppo_budget": self.budget}}

    def load_state_dict(self, payload: dict) -> None:
        from discover.kernels import Program

        extra = payload.get("extra", {})
        self._make_envs(extra.get("ppo_budget"))
        # the moves replay a VarSort game too (a program's jumps are not its moves); older
        # checkpoints hold the programs only
        moves = extra.get("ppo_moves") or [[self.spec.action_index(row)
                                            for row in Program.parse(text)]
                                           for text in extra.get("ppo_programs", [])]
        for i, played in enumerate(moves):
            env = self.envs[i]
            self.obs[i] = env.reset(seed=0)[0]
            for action in played:
                self.obs[i] = env.step(int(action))[0]
        self.returns[:] = extra.get("ppo_returns", self.returns.tolist())

    def close(self) -> None:
        pass

    def learn(self, run: RunView, rng: np.random.Generator) -> LearnStats:
        c, p = self.config, self.config.ppo
        budget = episode_budget(c, run.best)
        if budget != self.budget:  # a new best: later games must beat it (shrink_budget)
            self._make_envs(budget)
        spec, agent = self.spec, self.agent
        e, t = len(self.envs), spec.max_moves
        tokens = np.zeros((t, e, spec.max_moves), dtype=np.int16)  # int16[T, E, P]
        states = np.zeros((t, e, spec.slots, spec.n_inputs), dtype=np.int8)  # int8[T, E, S, B]
        masks = np.zeros((t, e, spec.n_actions), dtype=bool)  # bool[T, E, A]
        actions = np.zeros((t, e), dtype=np.int64)
        logps = np.zeros((t, e), dtype=np.float32)
        values = np.zeros((t + 1, e), dtype=np.float32)
        rewards = np.zeros((t, e), dtype=np.float32)
        dones = np.zeros((t, e), dtype=np.float32)
        finished, solved, lengths = [], 0, []
        for step in range(t):
            for i, env in enumerate(self.envs):
                tokens[step, i], states[step, i] = agent.features(env, self.obs[i])
                masks[step, i] = env.action_masks()
            logits, v = self._forward(tokens[step], states[step])
            logp = masked_log_softmax(logits, torch.as_tensor(masks[step])).numpy()
            gumbel = -np.log(-np.log(rng.random(logp.shape) + 1e-12) + 1e-12)
            a = np.argmax(np.where(masks[step], logp + gumbel, -np.inf), axis=1)
            actions[step], values[step] = a, v
            logps[step] = logp[np.arange(e), a]
            for i, env in enumerate(self.envs):
                before = spec.potential(states[step, i]) if c.shaping else 0.0
                obs, r, term, trunc, info = env.step(int(a[i]))
                if c.shaping:  # the search's first potential (see the module docstring)
                    r += c.shaping * (spec.potential(spec.state_of(env, obs)) - before)
                rewards[step, i] = r
                self.returns[i] += r
                if term or trunc or not env.action_masks().any():
                    if info.get("solved", False):
                        solved += 1
                        run.offer(env.program())
                    finished.append(self.returns[i])
                    lengths.append(len(env.program()))
                    self.returns[i] = 0.0
                    dones[step, i] = 1.0
                    obs, _ = env.reset(seed=0)
                self.obs[i] = obs
        last = [agent.features(env, self.obs[i]) for i, env in enumerate(self.envs)]
        values[t] = self._forward(np.stack([x[0] for x in last]), np.stack([x[1] for x in last]))[1]
        advantages = np.zeros((t, e), dtype=np.float32)
        gae = np.zeros(e, dtype=np.float32)
        gamma = c.mcts.discount
        for step in reversed(range(t)):
            live = 1.0 - dones[step]
            delta = rewards[step] + gamma * values[step + 1] * live - values[step]
            gae = delta + gamma * p.gae_lambda * live * gae
            advantages[step] = gae
        targets = advantages + values[:t]
        losses = self._update(tokens.reshape(t * e, -1), states.reshape((t * e,) + states.shape[2:]),
                              masks.reshape(t * e, -1), actions.reshape(-1), logps.reshape(-1),
                              advantages.reshape(-1), targets.reshape(-1), rng)
        return LearnStats(len(finished), t * e,
                          mean_return=round(float(np.mean(finished)) if finished else 0.0, 4),
                          solved_rate=round(solved / max(len(finished), 1), 4),
                          mean_length=round(float(np.mean(lengths)) if lengths else 0.0, 2),
                          policy_loss=round(losses[0], 5), value_loss=round(losses[1], 5))

    def _forward(self, tokens, states):
        self.agent.net.eval()
        with torch.inference_mode():
            logits, v = self.agent.net(*self.agent.inputs(tokens, states))
        return logits.cpu(), v.cpu().numpy()

    def _update(self, tokens, states, masks, actions, old_logp, advantages, targets, rng):
        p = self.config.ppo
        agent, device = self.agent, self.agent.device
        n = len(actions)
        adv = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
        agent.net.train()
        pl, vl = [], []
        for _ in range(p.epochs):
            order = rng.permutation(n)
            for start in range(0, n, p.minibatch):
                idx = order[start:start + p.minibatch]
                t_in, s_in = agent.inputs(tokens[idx], states[idx])
                logits, v = agent.net(t_in, s_in)
                m = torch.as_tensor(masks[idx], device=device)
                logp_all = masked_log_softmax(logits, m)
                a = torch.as_tensor(actions[idx], device=device)
                logp = logp_all.gather(1, a[:, None]).squeeze(1)
                ratio = torch.exp(logp - torch.as_tensor(old_logp[idx], device=device))
                advantage = torch.as_tensor(adv[idx], device=device)
                policy_loss = -torch.min(ratio * advantage,
                                         ratio.clamp(1 - p.clip, 1 + p.clip) * advantage).mean()
                probs = logp_all.exp() * m
                entropy = -(probs * logp_all.masked_fill(~m, 0.0)).sum(1).mean()
                value_loss = torch.nn.functional.mse_loss(v, torch.as_tensor(targets[idx], device=device))
                loss = policy_loss + self.config.value_weight * 0.5 * value_loss - p.entropy * entropy
                agent.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(agent.net.parameters(), p.max_grad_norm)
                agent.optimizer.step()
                pl.append(policy_loss.item())
                vl.append(value_loss.item())
        return float(np.mean(pl)), float(np.mean(vl))
