import { describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import { zipFiles } from '../core/io/zip';
import { imageFolderName, splitImageFiles } from './recover-actions';

function png(): Uint8Array {
  return new Uint8Array(PNG.sync.write(new PNG({ width: 2, height: 2 })));
}

describe('splitImageFiles', () => {
  it('keeps model files apart from images, their labels files and unreadable "images"', () => {
    const files = [
      { path: 'm/model.json', bytes: new TextEncoder().encode('{}') },
      { path: 'm/group1-shard1of1.bin', bytes: new Uint8Array(16) },
      { path: 'd/cat/a.png', bytes: png() },
      { path: 'd/cat/broken.jpg', bytes: new Uint8Array([1, 2]) },
      { path: 'd/labels.txt', bytes: new TextEncoder().encode('cat\n') },
    ];
    const { images, rest } = splitImageFiles(files);
    expect(images.map((f) => f.path)).toEqual(['d/cat/a.png', 'd/cat/broken.jpg', 'd/labels.txt']);
    expect(rest.map((f) => f.path)).toEqual(['m/model.json', 'm/group1-shard1of1.bin']);
  });

  it('takes a zip of images as images and leaves everything alone without images', () => {
    const zip = zipFiles([{ path: 'x/0/a.png', bytes: png() }]);
    expect(splitImageFiles([{ path: 'set.zip', bytes: zip }]).images).toHaveLength(1);
    const plain = [{ path: 'labels.txt', bytes: new Uint8Array([65]) }];
    expect(splitImageFiles(plain)).toEqual({ images: [], rest: plain });
  });

  it('names a folder by its top directory', () => {
    expect(imageFolderName([{ path: 'digits/0/a.png', bytes: png() }])).toBe('digits');
    expect(imageFolderName([{ path: 'a.png', bytes: png() }])).toBe('a.png');
  });
});
