/** DI token of the resolved `InteractorsHealthModule` options. @internal */
export const INTERACTORS_HEALTH_OPTIONS = 'interactors:health-options';
