import { AirlockError } from '../errors.js';
import { isNotFound } from '../engine/client.js';
import type { Engine } from '../engine/engine.js';
import { measureImage } from '../engine/measure.js';
import type { Digest } from '../util/digest.js';

/** An image a cell needs, as the engine that built (or holds) it knows it. */
export interface ShippedImage {
  /** the engine's image id (content-addressed: `docker load` keeps it) */
  imageId: string;
  /** the normalized rootfs digest measured where it was built; measured there first when unknown */
  rootfsDigest?: Digest;
}

export interface ShipResult {
  /** the first call for this (node, image): the one that did the work and should be recorded */
  first: boolean;
  /** whether bytes moved (false: the node had the image already) */
  transferred: boolean;
  /** measured on the node, equal to the source's */
  rootfsDigest: Digest;
}

/**
 * Puts images on the nodes that run cells: each (node, image) pair once per run. An image
 * the node lacks is streamed there from the source engine (`save` → `load`, never buffered
 * whole: no registry needed); either way its normalized rootfs digest is measured on the
 * node and must be the one measured on the source, so a cell never starts on a filesystem
 * that differs from the one its cache key and provenance name.
 */
export class ImageShipper {
  readonly #done = new Map<string, Promise<Omit<ShipResult, 'first'>>>();
  /** settles once the node holds the image (loaded or found), before its rootfs is measured */
  readonly #present = new Map<string, Promise<void>>();
  readonly #sourceDigests = new Map<string, Promise<Digest>>();

  constructor(
    private readonly source: Engine,
    private readonly runId: string,
  ) {}

  async ensure(node: Engine, image: ShippedImage): Promise<ShipResult> {
    const key = `${node.endpoint}\0${image.imageId}`;
    const known = this.#done.get(key);
    if (known) return { ...(await known), first: false };
    const load = this.#load(node, image.imageId);
    const done = this.#check(node, image, load);
    this.#present.set(key, load.then(() => undefined));
    this.#done.set(key, done);
    try {
      return { ...(await done), first: true };
    } catch (e) {
      // a failed shipment (the node went away) is tried again by the next cell that needs it
      this.#done.delete(key);
      this.#present.delete(key);
      throw e;
    }
  }

  /** Settles once `ensure` has the image on the node (what needs only its presence need not wait for the measurement). */
  present(node: Engine, imageId: string): Promise<void> {
    return this.#present.get(`${node.endpoint}\0${imageId}`) ?? Promise.reject(new Error(`${imageId} is not being shipped to ${node.name}`));
  }

  /** Whether the node had the image, after loading it there when it had not. */
  async #load(node: Engine, imageId: string): Promise<boolean> {
    if (node.endpoint === this.source.endpoint) return true;
    const present = await node.images.inspect(imageId).then(
      () => true,
      (e: unknown) => {
        if (isNotFound(e)) return false;
        throw e;
      },
    );
    if (!present) await node.images.load(await this.source.images.save(imageId));
    return present;
  }

  async #check(node: Engine, image: ShippedImage, load: Promise<boolean>): Promise<Omit<ShipResult, 'first'>> {
    const [expected, present] = await Promise.all([image.rootfsDigest ?? this.#sourceDigest(image.imageId), load]);
    if (node.endpoint === this.source.endpoint) return { transferred: false, rootfsDigest: expected };
    const measured = await measureImage(node, image.imageId, this.runId);
    if (measured.digest !== expected) {
      throw new AirlockError('IMAGE_MISMATCH', `image ${image.imageId} measures ${measured.digest} on ${node.name}, not ${expected} as on ${this.source.name}`, {
        details: { imageId: image.imageId, node: node.name, expected, actual: measured.digest },
      });
    }
    return { transferred: !present, rootfsDigest: measured.digest };
  }

  #sourceDigest(imageId: string): Promise<Digest> {
    let d = this.#sourceDigests.get(imageId);
    if (!d) {
      d = measureImage(this.source, imageId, this.runId).then((m) => m.digest);
      this.#sourceDigests.set(imageId, d);
    }
    return d;
  }
}
